#!/usr/bin/env bats
# Images leaving and entering the store: kiln save / kiln load, checked by real
# clients (skopeo, umoci, podman) and by the OCI schemas.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  SOURCE_DATE_EPOCH=1700000000 "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  # An image with a file the tests look for, on top of busybox's tree.
  d=$(mktemp -d)
  cp -a "$KILN_ROOT"/snapshots/*/fs/. "$d/"
  echo "made by kiln" > "$d/marker.txt"
  SOURCE_DATE_EPOCH=1700000000 "$KILN" import --change 'CMD ["cat", "/marker.txt"]' "$d" kiln-test/marker:1 >/dev/null
  rm -rf "$d"
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
  podman rmi -f kiln-test/marker:1 >/dev/null 2>&1 || true
}

schema() { "$PY" "$BATS_TEST_DIRNAME/../conformance/oci_schema.py" "$CONF/oci-image-spec-schema" layout "$@"; }
PY=${PY:-/usr/bin/python3}

@test "every format validates against the OCI schemas" {
  kiln save -o "$TMP/d.tar" kiln-test/marker:1
  kiln save -o "$TMP/o.tar" --format oci-archive kiln-test/marker:1
  kiln save -o "$TMP/z.tar" --format oci-archive --compression zstd kiln-test/marker:1
  kiln save -o "$TMP/dir" --format oci-dir kiln-test/marker:1
  run schema "$TMP/d.tar" "$TMP/o.tar" "$TMP/z.tar" "$TMP/dir"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"o.tar: 4/4 documents valid"* ]]
}

@test "the upstream schema examples get their documented verdicts (the validator is right)" {
  run "$PY" "$BATS_TEST_DIRNAME/../conformance/oci_schema.py" "$CONF/oci-image-spec-schema" examples
  [ "$status" -eq 0 ]
  [ "$output" = "oci-schema examples: 71/71" ]
}

@test "skopeo reads kiln's archives and copies them; umoci unpacks kiln's layout" {
  kiln save -o "$TMP/o.tar" --format oci-archive kiln-test/marker:1
  kiln save -o "$TMP/d.tar" kiln-test/marker:1
  kiln save -o "$TMP/dir" --format oci-dir kiln-test/marker:1
  id=$(kiln inspect kiln-test/marker:1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
  run skopeo inspect --config oci-archive:"$TMP/o.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"cat"'*'"/marker.txt"'* ]]
  run skopeo inspect docker-archive:"$TMP/d.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"kiln-test/marker:1"'* || "$output" == *'"Architecture": "amd64"'* ]]
  skopeo copy -q oci-archive:"$TMP/o.tar" oci:"$TMP/copy":x
  [ "$(skopeo inspect --raw oci:"$TMP/copy":x | sha256sum | cut -c1-64)" = \
    "$(skopeo inspect --raw oci-archive:"$TMP/o.tar" | sha256sum | cut -c1-64)" ]
  umoci unpack --image "$TMP/dir:1" "$TMP/bundle" >/dev/null
  [ "$(cat "$TMP/bundle/rootfs/marker.txt")" = "made by kiln" ]
  [ "$(cat "$TMP/bundle/rootfs/etc/passwd" | head -1)" = "root:x:0:0:root:/root:/bin/sh" ]
}

@test "podman loads kiln's docker-archive and runs it" {
  kiln save -o "$TMP/d.tar" kiln-test/marker:1
  podman load -q -i "$TMP/d.tar" >/dev/null
  run podman --runtime runc run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    kiln-test/marker:1
  [ "$status" -eq 0 ]
  [ "$output" = "made by kiln" ]
}

@test "kiln loads what skopeo copy and podman save write, with identical digests" {
  kiln save -o "$TMP/d.tar" kiln-test/marker:1
  skopeo copy -q docker-archive:"$TMP/d.tar" oci-archive:"$TMP/sk.tar":kiln-test/skopeo:1
  podman load -q -i "$TMP/d.tar" >/dev/null
  podman save -q -o "$TMP/pod.tar" kiln-test/marker:1
  export KILN_ROOT=$TMP/other
  run kiln load -i "$TMP/sk.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: kiln-test/skopeo:1" ]
  # Same config (image id) and, saved again, the very manifest skopeo wrote.
  cfg=$(skopeo inspect --raw oci-archive:"$TMP/sk.tar" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
  [ "$(kiln images -q --no-trunc)" = "$cfg" ]
  kiln save -o "$TMP/again.tar" --format oci-archive kiln-test/skopeo:1
  [ "$(skopeo inspect --raw oci-archive:"$TMP/again.tar" | sha256sum)" = "$(skopeo inspect --raw oci-archive:"$TMP/sk.tar" | sha256sum)" ]
  run kiln load -i "$TMP/pod.tar"
  [ "$status" -eq 0 ]
  pod_cfg=$(tar -xOf "$TMP/pod.tar" manifest.json | "$PY" -c 'import json,sys; c=json.load(sys.stdin)[0]["Config"]; print(c.split("/")[-1].removesuffix(".json"))')
  run kiln inspect kiln-test/marker:1
  [[ "$output" == *"\"Id\": \"sha256:${pod_cfg}\""* ]]
  run kiln system check
  [[ "$output" == "the store is clean"* ]]
}

@test "round trip: import, save, load, save gives byte-identical archives" {
  for fmt in docker-archive oci-archive; do
    kiln save -o "$TMP/a-$fmt.tar" --format $fmt kiln-test/marker:1
    KILN_ROOT=$TMP/rt-$fmt kiln load -q -i "$TMP/a-$fmt.tar"
    KILN_ROOT=$TMP/rt-$fmt kiln save -o "$TMP/b-$fmt.tar" --format $fmt kiln-test/marker:1
    cmp "$TMP/a-$fmt.tar" "$TMP/b-$fmt.tar"
  done
  # Through a pipe, too.
  kiln save -o - kiln-test/marker:1 | KILN_ROOT=$TMP/pipe kiln load
  want=$(kiln inspect kiln-test/marker:1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
  got=$(KILN_ROOT=$TMP/pipe kiln inspect kiln-test/marker:1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
  [ "$want" = "$got" ]
}

@test "compressed layers are made once and cached; gzip output is standard gzip" {
  kiln save -o "$TMP/g1.tar" --format oci-archive kiln-test/marker:1
  before=$(ls "$KILN_ROOT/blobs/sha256" | wc -l)
  kiln save -o "$TMP/g2.tar" --format oci-archive kiln-test/marker:1
  [ "$(ls "$KILN_ROOT/blobs/sha256" | wc -l)" = "$before" ]
  cmp "$TMP/g1.tar" "$TMP/g2.tar"
  mkdir "$TMP/x" && tar -C "$TMP/x" -xf "$TMP/g1.tar"
  for b in "$TMP"/x/blobs/sha256/*; do
    if [ "$(head -c2 "$b" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
      gzip -t < "$b"
      [ "$(gzip -dc < "$b" | sha256sum | cut -c1-64)" != "" ]
    fi
  done
}

@test "a corrupt blob or a layer that does not match its diff_id is refused, and nothing is stored" {
  kiln save -o "$TMP/o.tar" --format oci-archive kiln-test/marker:1
  mkdir "$TMP/x" && tar -C "$TMP/x" -xf "$TMP/o.tar"
  big=$(ls -S "$TMP"/x/blobs/sha256 | head -1)
  printf 'X' | dd of="$TMP/x/blobs/sha256/$big" bs=1 seek=100 conv=notrunc 2>/dev/null
  (cd "$TMP/x" && tar -cf "$TMP/bad.tar" .)
  export KILN_ROOT=$TMP/victim
  run kiln load -i "$TMP/bad.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *"digest mismatch"* ]]
  [ -z "$(kiln images -q)" ]
  run kiln system check
  [ "$status" -eq 0 ]
  # A docker-archive whose layer is not what the config says.
  mkdir "$TMP/y" "$TMP/content"
  echo hi > "$TMP/content/f"
  tar -C "$TMP/content" -cf "$TMP/y/layer.tar" f
  cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"config":{}}'
  printf '%s' "$cfg" > "$TMP/y/cfg.json"
  printf '[{"Config":"cfg.json","RepoTags":["liar:1"],"Layers":["layer.tar"]}]' > "$TMP/y/manifest.json"
  (cd "$TMP/y" && tar -cf "$TMP/liar.tar" .)
  run kiln load -i "$TMP/liar.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == *"but the image says sha256:0000"*"refusing it"* ]]
  [ -z "$(kiln images -q)" ]
  run kiln system check
  [ "$status" -eq 0 ]
}

@test "a name that is no valid tag refuses the whole archive, and nothing is stored" {
  kiln save -o "$TMP/two.tar" kiln-test/marker:1 busybox:latest
  mkdir "$TMP/x" && tar -C "$TMP/x" -xf "$TMP/two.tar"
  # The second image's RepoTags climb out with ../ : the first must not be loaded either.
  python3 - "$TMP/x/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m[1]["RepoTags"] = ["../evil:1", "fine:1"]
json.dump(m, open(sys.argv[1], "w"))
PY
  (cd "$TMP/x" && tar -cf "$TMP/bad.tar" .)
  export KILN_ROOT=$TMP/victim
  run kiln load -i "$TMP/bad.tar"
  [ "$status" -eq 1 ]
  [ "$output" = 'kiln: manifest.json: RepoTags of image 2: invalid reference "../evil:1": bad registry host ".."' ]
  [ -z "$(kiln images -q)" ]
  [ -z "$(ls "$KILN_ROOT/blobs/sha256")" ] && [ -z "$(ls "$KILN_ROOT/snapshots")" ]
  # The same through index.json (an OCI archive names its images there).
  rm "$TMP/x/manifest.json"
  python3 - "$TMP/x/index.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["manifests"][0]["annotations"]["io.containerd.image.name"] = "../evil:1"
json.dump(m, open(sys.argv[1], "w"))
PY
  (cd "$TMP/x" && tar -cf "$TMP/bad-oci.tar" .)
  run kiln load -i "$TMP/bad-oci.tar"
  [ "$status" -eq 1 ]
  [[ "$output" == 'kiln: index.json: the name of manifest 1: invalid reference "../evil:1"'* ]]
  [ -z "$(kiln images -q)" ]
}
