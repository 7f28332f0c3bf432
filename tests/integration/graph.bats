#!/usr/bin/env bats
# The build as a graph: independent stages overlap (with and without --no-cache),
# serial and parallel builds make the same image, and a store made by the binary
# before the graph scheduler stays warm.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

df() { printf "$1" > "$CTX/Dockerfile"; }
executed() { grep -c ' DONE ' <<<"$1" || true; }

# A builder and a runtime stage whose RUNs each note when they started and ended
# (the host's uptime, which every sandbox shares); the runtime copies the
# builder's notes next to its own.  $1 makes the steps new for each test.
pair() {
  df "FROM busybox AS builder\nRUN cut -d' ' -f1 /proc/uptime > /start && sleep 1 && cut -d' ' -f1 /proc/uptime > /end # builder $1\nFROM busybox\nRUN cut -d' ' -f1 /proc/uptime > /start && sleep 1 && cut -d' ' -f1 /proc/uptime > /end # runtime $1\nCOPY --from=builder /start /b-start\nCOPY --from=builder /end /b-end\n"
}

# Prints "overlap" when the two RUNs' intervals overlap, else "apart".
intervals() {
  kiln run --rm "$1" sh -c 'echo $(cat /start /end /b-start /b-end)' |
    awk '{ if ($1 < $4 && $3 < $2) print "overlap"; else print "apart" }'
}

@test "builder and runtime stages run at the same time, --no-cache too" {
  pair one
  run env KILN_JOBS=2 "$KILN" build --progress plain -t graph/pair:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 4 ]
  [ "$(intervals graph/pair:1)" = overlap ]
  run env KILN_JOBS=2 "$KILN" build --progress plain --no-cache -t graph/pair:2 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 4 ]
  [ "$(intervals graph/pair:2)" = overlap ]
  # Interleaved steps stay readable: every line says its step.
  refute grep -v '^#[0-9]' <<<"$output"
  # One job: one after the other (the check above can fail).
  pair serial
  run env KILN_JOBS=1 "$KILN" build --progress plain --no-cache -t graph/pair:3 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(intervals graph/pair:3)" = apart ]
}

@test "a cached rebuild of branching stages prints its steps in order, all cached" {
  pair ordered
  run env KILN_JOBS=2 "$KILN" build --progress plain -t graph/pair:4 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run env KILN_JOBS=2 "$KILN" build --progress plain -t graph/pair:4 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 0 ]
  [ "$(grep -c CACHED <<<"$output")" = 4 ]
  # The walk in order, not the graph's children racing: step numbers never go down.
  sed -n 's/^#\([0-9]*\) .*/\1/p' <<<"$output" | sort -n -c
}

@test "serial, parallel and --no-cache builds give the same image id" {
  df 'FROM busybox AS a\nRUN echo a > /a && mkdir -p /d && echo x > /d/x\nFROM busybox AS b\nRUN echo b > /b\nFROM b\nWORKDIR /w\nCOPY --from=a /a /d /w/\nENV K=v\nCMD ["cat", "/w/a"]\n'
  export SOURCE_DATE_EPOCH=1700000000
  serial=$(KILN_JOBS=1 kiln build -q --no-cache "$CTX")
  parallel=$(KILN_JOBS=2 kiln build -q --no-cache "$CTX")
  cached=$(KILN_JOBS=2 kiln build -q "$CTX")
  cached_serial=$(KILN_JOBS=1 kiln build -q "$CTX")
  [[ "$serial" == sha256:* ]]
  [ "$parallel" = "$serial" ]
  [ "$cached" = "$serial" ]
  [ "$cached_serial" = "$serial" ]
}

@test "a failing stage stops the build with its error, and the other stage is stopped" {
  df 'FROM busybox AS builder\nRUN sleep 0.3 && exit 3\nFROM busybox\nRUN sleep 29.7\nCOPY --from=builder /x /x\n'
  start=$(date +%s)
  run env KILN_JOBS=2 "$KILN" build --progress plain --no-cache "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *'Dockerfile:2'*'did not complete successfully: exit code: 3'* ]]
  # The sleeping stage was cancelled, not waited for.
  [ $(( $(date +%s) - start )) -lt 20 ]
  refute pgrep -f 'sleep 29.7'
}

@test "identical stages run once in a build" {
  df 'FROM busybox AS a\nRUN echo same > /f\nFROM busybox AS b\nRUN echo same > /f\nFROM busybox\nCOPY --from=a /f /a\nCOPY --from=b /f /b\n'
  run env KILN_JOBS=2 "$KILN" build --progress plain --no-cache "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(grep -c 'RUN echo same' <<<"$output")" = 1 ]
}

# The kiln of the commit before the graph scheduler, built once from this
# repository (KILN_COMPAT_REF, KILN_COMPAT_BIN to use a binary at hand).
old_kiln() {
  if [ -n "${KILN_COMPAT_BIN:-}" ]; then echo "$KILN_COMPAT_BIN"; return; fi
  local ref=${KILN_COMPAT_REF:-e7ac223} repo=$BATS_TEST_DIRNAME/../..
  local dir=${KILN_COMPAT_DIR:-/var/tmp/kiln-compat-$ref}
  if [ ! -x "$dir/build/kiln" ]; then
    git -C "$repo" cat-file -e "$ref^{commit}" 2>/dev/null || return 1
    rm -rf "$dir" && mkdir -p "$dir"
    git -C "$repo" archive "$ref" | tar -x -C "$dir"
    (cd "$dir" && meson setup build >/dev/null && ninja -C build kiln >/dev/null) || return 1
  fi
  echo "$dir/build/kiln"
}

@test "a store made by the kiln before the graph scheduler stays warm: every step cached" {
  old=$(old_kiln) || skip "the reference kiln could not be built"
  # A store of the old kiln's own (the suite's store has a newer schema than it knows).
  export KILN_ROOT=$TMP/compat-store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$old" --root "$KILN_ROOT" >/dev/null
  mkdir -p "$CTX/src" && echo hello > "$CTX/src/f" && echo ignored > "$CTX/junk" && echo junk > "$CTX/.dockerignore"
  df 'ARG V=1\nFROM busybox AS builder\nARG V\nRUN echo $V > /v\nWORKDIR /app\nCOPY src/ ./\nADD src/f /added\nRUN --mount=type=cache,target=/c cat f > /copied\nFROM busybox\nENV A=b\nCOPY --from=builder /app /app\nRUN --mount=type=bind,from=builder,source=/v,target=/m cat /m > /v\nUSER nobody\nCMD ["cat", "/v"]\n'
  run "$old" build --progress plain -t graph/compat:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  old_id=$("$old" inspect -f "{{.Id}}" graph/compat:1)
  run kiln build --progress plain -t graph/compat:2 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 0 ]
  [ "$(grep -c CACHED <<<"$output")" = 6 ] || { echo "$output"; false; }
  # The same image but for what later fixes added to match BuildKit (issue 12's differential
  # harness: ArgsEscaped on every CMD), so the image id differs by that alone.
  [ "$(kiln inspect -f "{{.Id}}" graph/compat:1)" = "$old_id" ]
  [ "$(saved_config graph/compat:2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["ArgsEscaped"])')" = True ]
  [ "$(saved_config graph/compat:1 | without_args_escaped)" = "$(saved_config graph/compat:2 | without_args_escaped)" ]
}

# An image's config as `save` writes it.
saved_config() {
  rm -f "$TMP/saved.tar" && kiln save -o "$TMP/saved.tar" "$1" || return 1
  tar -xOf "$TMP/saved.tar" "$(tar -xOf "$TMP/saved.tar" manifest.json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')"
}
without_args_escaped() { /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin); c["config"].pop("ArgsEscaped", None); print(json.dumps(c, sort_keys=True))'; }
