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
  echo three > "$CTX/a.txt"
  kiln build -q --explain "$CTX" >/dev/null
  old=$(digest_of "$CTX/a.txt")
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
  # Three versions of the context built, one file list kept: the one the step's place
  # names (a large context's list weighs megabytes).
  [ "$(sqlite3 "$KILN_ROOT/kiln.db" "SELECT count(*) FROM step_files WHERE files LIKE '%keep.txt%'")" = 1 ]
}

@test "a COPY that runs without --explain walks the context once: no file list kept, a later --explain names the context" {
  df 'FROM busybox\nCOPY walked-once.txt /d/\n'
  echo one > "$CTX/walked-once.txt"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # The file list is the second walk's: only --explain and --metadata-file pay for it.
  [ "$(sqlite3 "$KILN_ROOT/kiln.db" "SELECT count(*) FROM step_files WHERE files LIKE '%walked-once.txt%'")" = 0 ]
  echo two > "$CTX/walked-once.txt"
  run kiln build --explain --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(misses "$output")" = "#2 cache miss: step input changed: context" ]
  [ "$(sqlite3 "$KILN_ROOT/kiln.db" "SELECT count(*) FROM step_files WHERE files LIKE '%walked-once.txt%'")" = 1 ]
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
  # COPY --from=a ran because stage a changed: the cause is named where it is.
  grep -q '^#[0-9]* cache miss: build arg A changed: "1" -> "2" (at RUN echo $A > /a)$' <<<"$output"
  [ "$(jq '."kiln.cache.misses" | length' "$TMP/md.json")" -ge 2 ]
  jq -e '."kiln.cache.misses" | map(.reasons[].type) | index("arg") and index("file")' "$TMP/md.json"
}

@test "--progress rawjson: BuildKit's SolveStatus, one object a line, every step in it" {
  df 'FROM busybox\nCOPY f /f\nRUN echo out-line && echo second\nRUN false || true\n'
  echo f > "$CTX/f"
  run kiln build --progress rawjson -t progress/raw "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  printf '%s\n' "$output" > "$TMP/raw"
  # Every line is one JSON object (jq fails on anything else).
  jq -e 'type == "object"' "$TMP/raw" >/dev/null
  [ "$(jq -s 'map(select(type != "object")) | length' "$TMP/raw")" = 0 ]
  # Each step is a vertex that started and completed, with a sha256 digest.
  names=$(jq -rs '[.[].vertexes // [] | .[]] | group_by(.digest) | map(select(any(.completed)) | .[0].name) | .[]' "$TMP/raw")
  grep -qx '\[stage-0 1/4\] FROM busybox' <<<"$names"
  grep -qx '\[stage-0 2/4\] COPY f /f' <<<"$names"
  grep -qx '\[stage-0 3/4\] RUN echo out-line && echo second' <<<"$names"
  grep -qx '\[stage-0 4/4\] RUN false || true' <<<"$names"
  grep -qx 'exporting to image' <<<"$names"
  [ "$(jq -rs '[.[].vertexes // [] | .[] | .digest | test("^sha256:[0-9a-f]{64}$")] | all' "$TMP/raw")" = true ]
  # The RUN's output: logs of its vertex, base64.
  run3=$(jq -rs '[.[].vertexes // [] | .[] | select(.name | endswith("echo second"))][0].digest' "$TMP/raw")
  [ "$(jq -rs --arg v "$run3" '[.[].logs // [] | .[] | select(.vertex == $v) | .data | @base64d] | join("")' "$TMP/raw")" = "out-line
second" ]
  # A rebuild: the same steps, cached.
  run kiln build --progress rawjson -t progress/raw "$CTX"
  printf '%s\n' "$output" > "$TMP/raw2"
  [ "$(jq -s '[.[].vertexes // [] | .[] | select(.cached)] | length' "$TMP/raw2")" = 3 ]
}

@test "--progress rawjson: a failing step's vertex carries the error" {
  df 'FROM busybox\nRUN echo bad && exit 3\n'
  run kiln build --progress rawjson "$CTX"
  [ "$status" -ne 0 ]
  jq -Rr 'fromjson? | .vertexes // [] | .[] | select(.error) | .name + ": " + .error' <<<"$output" > "$TMP/err"
  grep -q '^\[stage-0 2/2\] RUN echo bad && exit 3: process "/bin/sh -c echo bad && exit 3" did not complete successfully: exit code: 3' "$TMP/err"
}

# Runs kiln with stderr on a terminal (script(1) gives it a pty); the screen's bytes
# land in $TMP/tty.
on_tty() {
  script -qec "$*" "$TMP/tty" >/dev/null
}
# The text of the view's last frame: escape sequences and carriage returns out.
last_frame() {
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g; s/\r//g' "$TMP/tty" | sed -n '/FINISHED/,$p'
}

@test "on a terminal: BuildKit's view, every stage's steps, CACHED, the cache-miss mark, FINISHED" {
  df 'FROM busybox AS a\nRUN echo from-a\nFROM busybox AS b\nRUN echo from-b\nFROM busybox\nARG V=1\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\nRUN echo $V\n'
  on_tty env KILN_JOBS=2 "$KILN" build -t progress/tty "$CTX"
  last_frame | grep -aq '^\[+\] Building [0-9.]*s ([0-9]*/[0-9]*) FINISHED$'
  # --progress auto on a terminal: not the plain lines.
  refute grep -aq '^#[0-9]* ' "$TMP/tty"
  # The last frame lists every step of every stage, with its time.
  last=$(last_frame)
  for s in '\[a 2/2\] RUN echo from-a' '\[b 2/2\] RUN echo from-b' '\[stage-2 5/5\] RUN echo \$V' 'exporting to image'; do
    grep -aq "^ => .*$s .*[0-9]\.[0-9]s$" <<<"$last" || { echo "$last"; false; }
  done
  on_tty "$KILN" build --explain --build-arg V=2 -t progress/tty "$CTX"
  last=$(last_frame)
  grep -aq '^ => .*CACHED.* \[a 2/2\] RUN echo from-a' <<<"$last"
  grep -aq '^ => => .*cache miss: build arg V changed: "1" -> "2"' <<<"$last"
  # --progress plain on a terminal stays plain.
  on_tty "$KILN" build --progress plain "$CTX"
  grep -aq '^#[0-9]* CACHED' "$TMP/tty"
  refute grep -aq 'Building' "$TMP/tty"
}

@test "on a terminal: a running step shows its last lines of output" {
  df 'FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8 9; do echo tick-$i; sleep 0.2; done\n'
  on_tty "$KILN" build --progress tty "$CTX"
  grep -aq '=> => # tick-3' "$TMP/tty"
  # The final frame keeps the step, not its output.
  last=$(last_frame)
  refute grep -aq '# tick-' <<<"$last"
}

@test "system prune takes the explanations' records with the cache: nothing to explain after it" {
  df 'FROM busybox\nARG V=1\nRUN echo $V > /v\n'
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln system prune -f
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln build --explain --progress plain --build-arg V=2 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  grep -q '^#3 DONE' <<<"$output"
  [ -z "$(misses "$output")" ]
}
