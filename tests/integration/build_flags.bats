#!/usr/bin/env bats
# The build flags docker CI jobs use, as a user sees them: a tar context on
# stdin, --metadata-file, --no-cache-filter, --shm-size, --ulimit, and the
# flags BuildKit accepts and ignores.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

df() { printf "$1" > "$CTX/Dockerfile"; }
ok() { [ "$status" -eq 0 ] || { echo "$output"; false; }; }
# A line a RUN step printed (not the step's label): "#N 0.012 TEXT".
printed() { [[ "$output" =~ \#[0-9]+\ [0-9.]+\ $1 ]]; }

@test "kiln build - reads a tar context (plain or gzip) from stdin; -f names a file in it; a Dockerfile on stdin stays one" {
  mkdir "$CTX/sub"; echo from-the-tar > "$CTX/sub/f"
  head -c 200000 /dev/urandom > "$CTX/sub/noise"
  df 'FROM busybox\nCOPY sub/f /f\nRUN cat /f\n'
  printf 'FROM busybox\nCOPY sub/f /g\nRUN echo other: && cat /g\n' > "$CTX/Other.df"
  tar -C "$CTX" -cf "$TMP/ctx.tar" .
  run kiln build --progress plain - < "$TMP/ctx.tar"
  ok
  printed from-the-tar
  tar -C "$CTX" -czf "$TMP/ctx.tgz" .
  run kiln build --progress plain -f Other.df - < "$TMP/ctx.tgz"
  ok
  printed other:
  # nothing of the extracted context is left in the store
  [ -z "$(ls "$KILN_ROOT/tmp" | grep context || true)" ]
  # a Dockerfile on stdin: no context
  run kiln build --progress plain - <<<$'FROM busybox\nRUN echo dockerfile-on-stdin'
  ok
  printed dockerfile-on-stdin
  # stdin cannot be both
  run kiln build -f - - < "$TMP/ctx.tar"
  [ "$status" -eq 2 ]
  [[ "$output" == *"can't use stdin for both build context and dockerfile"* ]]
  # a broken archive is an error, not a Dockerfile
  head -c 100000 "$TMP/ctx.tgz" > "$TMP/cut.tgz"
  run kiln build - < "$TMP/cut.tgz"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the context from standard input"* ]]
}

@test "--metadata-file writes BuildKit's keys: the config digest, the manifest digest and descriptor, the names" {
  df 'FROM busybox\nRUN echo hi > /hi\n'
  run kiln build -q -t meta:1 -t meta:2 --metadata-file "$TMP/md.json" "$CTX"
  ok
  id=$output
  python3 - "$TMP/md.json" "$id" "$KILN_ROOT" <<'PY'
import json, sys, os, hashlib
md = json.load(open(sys.argv[1]))
assert md["containerimage.config.digest"] == sys.argv[2], md
d = md["containerimage.descriptor"]
assert md["containerimage.digest"] == d["digest"], md
assert d["mediaType"] == "application/vnd.oci.image.manifest.v1+json", d
blob = open(os.path.join(sys.argv[3], "blobs/sha256", d["digest"][7:]), "rb").read()
assert len(blob) == d["size"] and "sha256:" + hashlib.sha256(blob).hexdigest() == d["digest"], d
assert md["image.name"] == "docker.io/library/meta:1,docker.io/library/meta:2", md
PY
  # an untagged build has no image.name
  run kiln build -q --metadata-file "$TMP/md2.json" "$CTX"
  ok
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert "image.name" not in m and m["containerimage.config.digest"] == sys.argv[2]' "$TMP/md2.json" "$output"
  # a device is refused before the build
  run kiln build -q --metadata-file /dev/full "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/dev/full"* ]]
}

@test "--no-cache-filter STAGE reruns that stage's steps only" {
  df 'FROM busybox AS a\nRUN echo a-ran\nFROM busybox AS b\nRUN echo b-ran\nFROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n'
  run kiln build --progress plain "$CTX"
  ok
  run kiln build --progress plain --no-cache-filter b "$CTX"
  ok
  refute printed a-ran
  printed b-ran
  run kiln build --progress plain --no-cache-filter a,b "$CTX"
  ok
  printed a-ran && printed b-ran
}

@test "--shm-size and --ulimit reach RUN steps; bad values are usage errors" {
  df 'FROM busybox\nRUN df -k /dev/shm | tail -1 && ulimit -n && ulimit -Hn && ulimit -c\n'
  run kiln build --progress plain "$CTX"
  ok
  [[ "$output" == *" 65536 "*"/dev/shm"* ]]
  run kiln build --progress plain --shm-size 128m --ulimit nofile=100:200 --ulimit core=-1 "$CTX"
  ok
  [[ "$output" == *" 131072 "*"/dev/shm"* ]]
  printed 100 && printed 200 && printed unlimited
  run kiln build --shm-size 12x "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid argument "12x" for "--shm-size" flag'* ]]
  run kiln build --ulimit nofile=3:2 "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"soft limit must be less than or equal to hard limit"* ]]
  run kiln build --ulimit bogus=1 "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"invalid ulimit type: bogus"* ]]
}

@test "--load, --rm and --force-rm are accepted, as BuildKit accepts them" {
  df 'FROM busybox\n'
  run kiln build -q --load --rm --force-rm --rm=false --force-rm=true -t loaded:1 "$CTX"
  ok
  id=$output
  run kiln inspect -f '{{.Id}}' loaded:1
  [ "$output" = "$id" ]
}

@test "--output with an unknown type, or a file type without dest=, is refused before any step runs" {
  df 'FROM busybox\nRUN echo should-not-run\n'
  run kiln build --progress plain -o type=bogus,dest="$TMP/x" "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *'--output: unknown type "bogus"'* ]]
  [[ "$output" != *should-not-run* ]]
  run kiln build --progress plain -o type=tar "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *'--output type=tar needs dest=PATH'* ]]
  [[ "$output" != *should-not-run* ]]
  [ ! -e "$TMP/x" ]
}
