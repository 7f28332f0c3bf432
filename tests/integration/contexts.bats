#!/usr/bin/env bats
# What a build sees of its inputs: the context as .dockerignore selects it (for
# COPY, the cache key, RUN --mount=type=bind and `kiln debug context` alike),
# named contexts (--build-context), git URL contexts, --ssh and -o type=registry.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

listing() { (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | sort); }

@test "COPY copies what debug context lists: an exception inside an excluded directory is kept" {
  mkdir -p "$CTX/docs/api" "$CTX/src"
  echo r >"$CTX/docs/README.md"
  echo a >"$CTX/docs/api/ref.md"
  echo m >"$CTX/src/main.c"
  printf 'docs\n!docs/README.md\n' >"$CTX/.dockerignore"
  mkdir "$TMP/df"
  printf 'FROM scratch\nCOPY . /app\n' >"$TMP/df/Dockerfile"
  run kiln debug context -f "$TMP/df/Dockerfile" "$CTX"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '.dockerignore\ndocs/\ndocs/README.md\nsrc/\nsrc/main.c')" ]
  run kiln build -q -f "$TMP/df/Dockerfile" -o "type=local,dest=$TMP/out" "$CTX"
  [ "$status" -eq 0 ]
  [ "$(listing "$TMP/out/app")" = "$(printf '.dockerignore\ndocs\ndocs/README.md\nsrc\nsrc/main.c')" ]
  # COPY of the excluded directory by name copies what the exception keeps.
  printf 'FROM scratch\nCOPY docs /d\n' >"$TMP/df/Dockerfile"
  run kiln build -q -f "$TMP/df/Dockerfile" -o "type=local,dest=$TMP/out2" "$CTX"
  [ "$status" -eq 0 ]
  [ "$(listing "$TMP/out2/d")" = "README.md" ]
}

@test "a file a .dockerignore exception keeps changes the cache key; an ignored one does not" {
  mkdir -p "$CTX/docs"
  echo 1 >"$CTX/docs/README.md"
  echo 1 >"$CTX/docs/other.md"
  printf 'docs\n!docs/README.md\n' >"$CTX/.dockerignore"
  printf 'FROM busybox\nCOPY . /app\nRUN cat /app/docs/README.md\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  echo 2 >"$CTX/docs/other.md"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"#2 CACHED"* ]]
  echo 2 >"$CTX/docs/README.md"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" != *"#2 CACHED"* ]]
  [[ "$output" == *"#3 "*" 2"* ]]
}

@test ".dockerignore applies to links COPY follows and to RUN --mount=type=bind of the context" {
  mkdir -p "$CTX/docs" "$CTX/sub"
  echo s >"$CTX/secret.env"
  echo r >"$CTX/docs/README.md"
  echo x >"$CTX/docs/private.md"
  ln -s secret.env "$CTX/toplink"
  ln -s ../secret.env "$CTX/sub/link"
  printf '*.env\ndocs\n!docs/README.md\n' >"$CTX/.dockerignore"
  printf 'FROM busybox\nCOPY toplink /x\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *'"toplink": not found in the build context (or excluded by .dockerignore)'* ]]
  printf 'FROM busybox\nCOPY sub/link /x\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -ne 0 ]
  printf 'FROM busybox\nRUN --mount=type=bind,target=/c find /c -type f | sort\nRUN --mount=type=bind,source=docs,target=/d ls /d\n' \
    >"$CTX/Dockerfile"
  run kiln build --progress plain --no-cache "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"/c/docs/README.md"* ]]
  [[ "$output" == *"/c/Dockerfile"* ]]
  [[ "$output" != *"secret.env"* ]]
  [[ "$output" != *"private.md"* ]]
  [[ "$output" == *"README.md"* ]]
}

# ---------- servers on 127.0.0.1 for this file ----------

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

serve() { # serve NAME CMD...: a server for one test, stopped in teardown
  "${@:2}" >"$TMP/$1.log" 2>&1 3>&- &
  echo $! >>"$TMP/pids"
}

teardown() {
  if [ -f "$TMP/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$TMP/pids"
  fi
  rm -rf "$TMP"
}

until_true() { # until_true CMD...: polls up to 10 s
  for _ in $(seq 1 100); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "never true: $*" >&2
  return 1
}

# A bare repository with two commits: main has app/ and a root file; the tag v1
# is the first commit.
make_repo() {
  local work=$TMP/work
  git init -q -b main "$work"
  git -C "$work" config user.email t@example.invalid
  git -C "$work" config user.name test
  mkdir -p "$work/app"
  printf 'FROM busybox\nCOPY . /src\nCMD ["cat", "/src/version"]\n' >"$work/app/Dockerfile"
  echo one >"$work/app/version"
  echo root >"$work/top.txt"
  ln -s /etc "$work/escape"
  git -C "$work" add -A && git -C "$work" commit -qm one && git -C "$work" tag v1
  echo two >"$work/app/version"
  git -C "$work" commit -qam two
  mkdir -p "$TMP/git"
  git clone -q --bare "$work" "$TMP/git/repo.git"
}

@test "git URL contexts: git:// and smart http on loopback, #ref:dir, no .git in the context" {
  make_repo
  local gport hport
  gport=$(free_port)
  serve gitd git daemon --reuseaddr --export-all --base-path="$TMP/git" --listen=127.0.0.1 --port="$gport" "$TMP/git"
  until_true git ls-remote "git://127.0.0.1:$gport/repo.git"
  run kiln build --progress plain -t fromgit:main "git://127.0.0.1:$gport/repo.git#main:app"
  [ "$status" -eq 0 ]
  run kiln run --rm fromgit:main
  [ "$output" = "two" ]
  run kiln run --rm fromgit:main ls -a /src
  [[ "$output" != *".git"* ]]
  [[ "$output" != *"top.txt"* ]]
  # A tag, over HTTP through git http-backend.
  hport=$(free_port)
  serve http python3 "$BATS_TEST_DIRNAME/git_http.py" "$TMP/git" "$hport"
  until_true git ls-remote "http://127.0.0.1:$hport/repo.git"
  run kiln build --progress plain -t fromgit:v1 "http://127.0.0.1:$hport/repo.git#v1:app"
  [ "$status" -eq 0 ]
  run kiln run --rm fromgit:v1
  [ "$output" = "one" ]
  # No ref: the default branch; -f is a path inside the repository.
  run kiln build -q -f app/Dockerfile "http://127.0.0.1:$hport/repo.git"
  [ "$status" -eq 0 ]
  # What is not there says so.
  run kiln build "http://127.0.0.1:$hport/repo.git#nosuchref"
  [ "$status" -ne 0 ]
  [[ "$output" == *"git context http://127.0.0.1:$hport/repo.git: git fetch failed"* ]]
  run kiln build "git://127.0.0.1:$gport/repo.git#main:nodir"
  [ "$status" -ne 0 ]
  [[ "$output" == *'no directory "nodir" in the repository'* ]]
  # A symlink of the repository's does not make a host directory the context.
  run kiln build "git://127.0.0.1:$gport/repo.git#main:escape"
  [ "$status" -ne 0 ]
  [[ "$output" == *'no directory "escape" in the repository'* ]]
  # Nothing is left in the store's tmp/.
  [ -z "$(ls "$KILN_ROOT/tmp" | grep context || true)" ]
}

@test "--build-context replaces a stage or an image: a directory, docker-image://, oci-layout://" {
  mkdir -p "$TMP/extra"
  echo from-dir >"$TMP/extra/hello"
  printf 'FROM busybox AS base\nRUN echo stage >/hello\nFROM busybox\nCOPY --from=base /hello /a\nRUN --mount=from=base,target=/m cp /m/hello /b\nCMD ["cat", "/a", "/b"]\n' \
    >"$CTX/Dockerfile"
  run kiln build -q -t named:stage "$CTX"
  [ "$status" -eq 0 ]
  [ "$(kiln run --rm named:stage)" = "$(printf 'stage\nstage')" ]
  # The directory replaces the stage of that name: it is not even built.
  run kiln build --progress plain -t named:dir --build-context base="$TMP/extra" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" != *"echo stage"* ]]
  [ "$(kiln run --rm named:dir)" = "$(printf 'from-dir\nfrom-dir')" ]
  # The same directory is the same image: the steps that use it stay cached.
  run kiln build --progress plain -t named:dir --build-context base="$TMP/extra" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"#2 CACHED"* ]] && [[ "$output" == *"#3 CACHED"* ]]
  # docker-image:// replaces FROM of an image name.
  printf 'FROM myalias\nCMD ["cat", "/a"]\n' >"$CTX/Dockerfile"
  run kiln build -q -t named:image --build-context myalias=docker-image://named:dir "$CTX"
  [ "$status" -eq 0 ]
  [ "$(kiln run --rm named:image)" = "from-dir" ]
  # oci-layout:// : an image written as an OCI layout, loaded from its directory.
  kiln build -q --build-context myalias=docker-image://named:dir -o type=oci,dest="$TMP/img.tar" "$CTX" >/dev/null
  mkdir "$TMP/layout" && tar -xf "$TMP/img.tar" -C "$TMP/layout"
  kiln rmi named:image >/dev/null
  printf 'FROM fromlayout\nRUN cat /a\n' >"$CTX/Dockerfile"
  run kiln build --progress plain --build-context fromlayout=oci-layout://"$TMP/layout" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"from-dir"* ]]
  local digest
  digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$TMP/layout/index.json")
  run kiln build -q --build-context fromlayout=oci-layout://"$TMP/layout@$digest" "$CTX"
  [ "$status" -eq 0 ]
  run kiln build -q --build-context fromlayout=oci-layout://"$TMP/layout@sha256:0000000000000000000000000000000000000000000000000000000000000000" "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *"no manifest with that digest in index.json"* ]]
  run kiln build -q --build-context fromlayout "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid --build-context "fromlayout": expected NAME=VALUE'* ]]
}

@test "--build-context DIR: the directory's own .dockerignore applies, the main context's does not" {
  mkdir -p "$TMP/named/logs" "$TMP/named/cache" "$TMP/named/sub"
  echo h >"$TMP/named/hello"
  echo s >"$TMP/named/secret"
  echo t >"$TMP/named/sub/x.tmp"
  echo a >"$TMP/named/sub/a"
  echo k >"$TMP/named/logs/keep.log"
  echo o >"$TMP/named/logs/other.log"
  echo c >"$TMP/named/cache/blob"
  printf 'secret\n**/*.tmp\nlogs\n!logs/keep.log\ncache\n!cache/none\n' >"$TMP/named/.dockerignore"
  # The main context's rules would drop hello: they are not the named context's.
  printf 'hello\n' >"$CTX/.dockerignore"
  printf 'FROM scratch\nCOPY --from=extra / /\n' >"$CTX/Dockerfile"
  run kiln build -q --build-context extra="$TMP/named" -o "type=local,dest=$TMP/out" "$CTX"
  [ "$status" -eq 0 ]
  # logs/ is kept as the parent of its exception; cache/ holds none and is left out.
  [ "$(listing "$TMP/out")" = "$(printf '.dockerignore\nhello\nlogs\nlogs/keep.log\nsub\nsub/a')" ]
  # Changing an ignored file changes nothing: the COPY stays cached; a kept one does not.
  echo changed >"$TMP/named/secret"
  run kiln build --progress plain --build-context extra="$TMP/named" -o "type=local,dest=$TMP/out2" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"#2 CACHED"* ]]
  echo changed >"$TMP/named/hello"
  run kiln build --progress plain --build-context extra="$TMP/named" -o "type=local,dest=$TMP/out2" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" != *"#2 CACHED"* ]]
  [ "$(cat "$TMP/out2/hello")" = changed ]
  # A .dockerignore that cannot be read is an error naming it, not an unfiltered copy.
  printf '!\n' >"$TMP/named/.dockerignore"
  run kiln build -q --build-context extra="$TMP/named" -o "type=local,dest=$TMP/out3" "$CTX"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *".dockerignore"* ]]
}

# ssh-add and the libraries it needs, copied from the host into the context.
ssh_add_bits() {
  local f
  for f in /usr/bin/ssh-add $(ldd /usr/bin/ssh-add | grep -o '/[^ ]*'); do
    mkdir -p "$CTX/bits$(dirname "$f")"
    cp -L "$f" "$CTX/bits$f"
  done
}

@test "--ssh forwards an agent to RUN --mount=type=ssh; a required mount without one fails as BuildKit" {
  command -v ssh-agent && command -v ssh-add
  ssh_add_bits
  ssh-keygen -q -t ed25519 -N '' -C kiln-test-key -f "$TMP/key"
  printf 'FROM busybox\nCOPY bits/ /\nRUN --mount=type=ssh echo "sock=$SSH_AUTH_SOCK" && ssh-add -l\n' >"$CTX/Dockerfile"
  # Key files: an agent of kiln's own, stopped after the build.
  run kiln build --progress plain --no-cache --ssh default="$TMP/key" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"sock=/run/buildkit/ssh_agent.0"* ]]
  [[ "$output" == *"kiln-test-key (ED25519)"* ]]
  # The caller's agent, through SSH_AUTH_SOCK.
  eval "$(ssh-agent -s -a "$TMP/agent.sock")" >/dev/null
  echo "$SSH_AGENT_PID" >>"$TMP/pids"
  ssh-add -q "$TMP/key"
  run kiln build --progress plain --no-cache --ssh default "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"kiln-test-key (ED25519)"* ]]
  # An optional mount without --ssh is left out; a required one is an error.
  printf 'FROM busybox\nRUN --mount=type=ssh echo "sock=[$SSH_AUTH_SOCK]"\nRUN --mount=type=ssh,id=deploy,required=true true\n' \
    >"$CTX/Dockerfile"
  run kiln build --progress plain --no-cache "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *"sock=[]"* ]]
  [[ "$output" == *'no SSH key "deploy" forwarded from the client'* ]]
  run kiln build --progress plain --no-cache --ssh deploy="$TMP/agent.sock" "$CTX"
  [ "$status" -eq 0 ]
}

@test "-o type=registry builds and pushes to name=, as docker buildx" {
  command -v docker-registry
  local port
  port=$(free_port)
  mkdir -p "$TMP/reg"
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$TMP/reg" "$port" >"$TMP/reg/config.yml"
  serve registry docker-registry serve "$TMP/reg/config.yml"
  until_true curl -sf "http://127.0.0.1:$port/v2/"
  printf 'FROM busybox\nRUN echo pushed >/p\nCMD ["cat", "/p"]\n' >"$CTX/Dockerfile"
  run kiln build --progress plain -o "type=registry,name=127.0.0.1:$port/ctx/app:1" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"1: digest: sha256:"* ]]
  curl -sf "http://127.0.0.1:$port/v2/ctx/app/tags/list" | grep -q '"1"'
  # type=image,push=true is the same; -t names are pushed too.
  run kiln build -q -t "127.0.0.1:$port/ctx/app:2" -o type=image,push=true "$CTX"
  [ "$status" -eq 0 ]
  curl -sf "http://127.0.0.1:$port/v2/ctx/app/tags/list" | grep -q '"2"'
  run kiln build -o type=registry "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"-o type=registry needs name=NAME:TAG or -t NAME:TAG"* ]]
  # Pulled into another store, it runs.
  export KILN_ROOT=$TMP/other-store
  run kiln run --rm "127.0.0.1:$port/ctx/app:1"
  [ "${lines[-1]}" = "pushed" ]
}
