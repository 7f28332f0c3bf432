#!/usr/bin/env bats
# The build's user-facing output: cache-miss explanations (--explain and
# --metadata-file), the terminal view, and --progress rawjson.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

df() { printf "$1" > "$CTX/Dockerfile"; }
misses() { grep ' cache miss: ' <<<"$1" || true; }
digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

@test "--explain: a changed context file is named with its old and new digest" {
  df 'FROM busybox\nCOPY a.txt keep.txt /d/\nRUN cat /d/a.txt\n'
  echo one > "$CTX/a.txt"
  echo same > "$CTX/keep.txt"
  old=$(digest_of "$CTX/a.txt")
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # The first build of a Dockerfile has nothing to compare with.
  [ -z "$(misses "$output")" ]
  echo two > "$CTX/a.txt"
  new=$(digest_of "$CTX/a.txt")
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(misses "$output")" = "#2 cache miss: context file a.txt changed: $old -> $new
#3 cache miss: context file a.txt changed: $old -> $new (at COPY a.txt keep.txt /d/)" ]
  # Cached again: nothing to explain.
  run kiln build --explain --progress plain "$CTX"
  [ -z "$(misses "$output")" ]
  [ "$(grep -c CACHED <<<"$output")" = 2 ]
}

@test "--explain: a build arg, with its old and new value" {
  df 'FROM busybox\nARG V=1\nCOPY f /f\nRUN echo $V > /v\n'
  echo f > "$CTX/f"
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln build --explain --progress plain --build-arg V=2 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # The COPY does not use V: still cached; the RUN says why it ran.
  [ "$(misses "$output")" = '#4 cache miss: build arg V changed: "1" -> "2"' ]
  grep -q '^#3 CACHED' <<<"$output"
}

@test "--explain: the instruction text" {
  df 'FROM busybox\nRUN echo hi > /a\nRUN echo more > /b\n'
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  df 'FROM busybox\nRUN echo ho > /a\nRUN echo more > /b\n'
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(misses "$output")" = "#2 cache miss: instruction changed: RUN echo hi > /a -> RUN echo ho > /a
#3 cache miss: instruction changed: RUN echo hi > /a -> RUN echo ho > /a (at RUN echo ho > /a)" ]
}

@test "--explain: the base image's digest" {
  mkdir "$TMP/base"
  printf 'FROM busybox\nRUN echo 1 > /base\n' > "$TMP/base/Dockerfile"
  kiln build -q -t progress/base "$TMP/base" >/dev/null
  old=$(kiln inspect -f '{{.Id}}' progress/base)
  df 'FROM progress/base\nRUN cat /base\n'
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  printf 'FROM busybox\nRUN echo 2 > /base\n' > "$TMP/base/Dockerfile"
  kiln build -q -t progress/base "$TMP/base" >/dev/null
  new=$(kiln inspect -f '{{.Id}}' progress/base)
  [ "$old" != "$new" ]
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(misses "$output")" = "#2 cache miss: base image progress/base changed: $old -> $new" ]
}

@test "explanations are opt-in on progress, and always in --metadata-file" {
  df 'FROM busybox\nARG V=1\nRUN echo $V > /v\n'
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln build --progress plain --build-arg V=2 --metadata-file "$TMP/md.json" "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # Plain progress keeps BuildKit's shape without --explain.
  [ -z "$(misses "$output")" ]
  run jq -c '."kiln.cache.misses"' "$TMP/md.json"
  [ "$output" = '[{"instruction":"RUN echo $V > /v","name":"[stage-0 3/3] RUN echo $V > /v","reasons":[{"name":"V","new":"2","old":"1","type":"arg"}],"step":3}]' ]
  # BuildKit's own keys are still there.
  jq -e '."containerimage.config.digest" | startswith("sha256:")' "$TMP/md.json"
  # --no-cache runs everything by request: nothing to explain.
  run kiln build --progress plain --no-cache --explain --build-arg V=3 --metadata-file "$TMP/md.json" "$CTX"
  [ -z "$(misses "$output")" ]
  [ "$(jq -c '."kiln.cache.misses"' "$TMP/md.json")" = '[]' ]
}

@test "--explain across stages built in parallel, and in the metadata file" {
  df 'FROM busybox AS a\nARG A=1\nRUN echo $A > /a\nFROM busybox AS b\nCOPY f /f\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /f /f\n'
  echo 1 > "$CTX/f"
  run env KILN_JOBS=2 "$KILN" build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  echo 2 > "$CTX/f"
  run env KILN_JOBS=2 "$KILN" build --explain --progress plain --build-arg A=2 --metadata-file "$TMP/md.json" "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  grep -q '^#[0-9]* cache miss: build arg A changed: "1" -> "2"$' <<<"$output"
  grep -q '^#[0-9]* cache miss: context file f changed: ' <<<"$output"
  [ "$(jq '."kiln.cache.misses" | length' "$TMP/md.json")" -ge 2 ]
  jq -e '."kiln.cache.misses" | map(.reasons[].type) | index("arg") and index("file")' "$TMP/md.json"
}
