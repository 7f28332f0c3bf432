#!/usr/bin/env bats
# The store as a database: processes killed at random moments, and several
# processes at once, never leave it corrupt or lose an image's blobs.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  export FIX=$(dirname "$KILN_ROOT")/fixtures
  mkdir -p "$FIX/tree"
  # A few MB over many files, so that a kill lands in the middle of real work.
  for d in $(seq 1 20); do
    mkdir -p "$FIX/tree/d$d"
    for f in $(seq 1 40); do head -c $((RANDOM * 4)) /dev/urandom > "$FIX/tree/d$d/f$f"; done
  done
  "$KILN" import "$FIX/tree" crash/base:1 >/dev/null
  "$KILN" save -o "$FIX/img.tar" --format oci-archive --compression gzip crash/base:1
  "$KILN" save -o "$FIX/img-docker.tar" busybox:latest
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

# The images every check must still find whole. A save reads every blob; the
# archive goes to a scratch file (kiln refuses a device such as /dev/null).
images_whole() {
  for img in "$@"; do
    kiln save -o "$TMP/whole.tar" "$img" || return 1
  done
}

# kill_then_check PID DELAY STORE ITERATION: SIGKILL after DELAY seconds; then the
# store is clean, or only has leftovers (nothing damaged) that --repair clears.
kill_then_check() {
  sleep "$2"
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  run env KILN_ROOT=$3 "$KILN" system check
  if [ "$status" -ne 0 ]; then
    [[ "$output" != *"damaged"* ]] || { echo "iteration $4: $output"; false; }
    run env KILN_ROOT=$3 "$KILN" system check --repair
    [ "$status" -eq 0 ] || { echo "iteration $4: repair: $output"; false; }
  fi
}

@test "SIGKILL at random moments during import and load: check is clean or --repair makes it so" {
  store=$TMP/victim
  for i in $(seq 1 24); do
    case $((i % 3)) in
      0) KILN_ROOT=$store "$KILN" import "$FIX/tree" "crash/imp:$i" >/dev/null 2>&1 & ;;
      1) KILN_ROOT=$store "$KILN" load -q -i "$FIX/img.tar" >/dev/null 2>&1 & ;;
      2) KILN_ROOT=$store "$KILN" load -q -i "$FIX/img-docker.tar" >/dev/null 2>&1 & ;;
    esac
    kill_then_check $! "0.0$((RANDOM % 10))$((RANDOM % 10))" "$store" "$i"
    run env KILN_ROOT=$store "$KILN" system check
    [ "$status" -eq 0 ] || { echo "iteration $i after repair: $output"; false; }
    # Whatever was recorded is whole.
    for img in $(KILN_ROOT=$store "$KILN" images -q | sort -u); do
      KILN_ROOT=$store "$KILN" save -o "$TMP/whole.tar" "$img" || { echo "iteration $i: $img broken"; false; }
    done
  done
  # And the store still works.
  KILN_ROOT=$store "$KILN" load -q -i "$FIX/img.tar"
  KILN_ROOT=$store images_whole crash/base:1
}

@test "several processes on one store at once: all images land, the layer is unpacked once" {
  store=$TMP/busy
  pids=()
  for i in 1 2 3 4; do
    KILN_ROOT=$store "$KILN" load -q -i "$FIX/img.tar" & pids+=($!)
    KILN_ROOT=$store "$KILN" import "$FIX/tree" "busy/imp:$i" >/dev/null & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  run env KILN_ROOT=$store "$KILN" system check
  [ "$status" -eq 0 ]
  [ "$output" = "the store is clean" ]
  # One snapshot for the loaded layer and one for the imported tree (same content).
  [ "$(ls "$store/snapshots" | wc -l)" -le 2 ]
  KILN_ROOT=$store images_whole crash/base:1 busy/imp:1 busy/imp:4
}

@test "a prune while others write never removes what they are making" {
  store=$TMP/gc
  KILN_ROOT=$store "$KILN" load -q -i "$FIX/img-docker.tar"
  pids=()
  for i in 1 2 3; do
    KILN_ROOT=$store "$KILN" import "$FIX/tree" "gc/imp:$i" >/dev/null & pids+=($!)
    KILN_ROOT=$store "$KILN" system prune -a -f >/dev/null & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  run env KILN_ROOT=$store "$KILN" system check
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  for img in $(KILN_ROOT=$store "$KILN" images -q | sort -u); do
    KILN_ROOT=$store "$KILN" save -o "$TMP/whole.tar" "$img"
  done
}

@test "builds killed at random moments and builds side by side: the store stays clean, every image whole" {
  store=$TMP/builds
  ctx=$TMP/bctx
  mkdir -p "$ctx"
  { echo 'FROM busybox'; for i in $(seq 1 12); do echo "RUN echo $i > /s$i"; done; echo 'COPY . /ctx'; } > "$ctx/Dockerfile"
  cp -r "$FIX/tree" "$ctx/" # ~50 MB: the COPY's layer starts an early sync
  KILN_ROOT=$store "$KILN" load -q -i "$FIX/img-docker.tar"
  helpers() { ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 == "slirp4netns"' | wc -l; } # live ones
  helpers_before=$(helpers)
  for i in $(seq 1 10); do
    KILN_ROOT=$store "$KILN" build -q --no-cache -t "crash/b:$i" "$ctx" >/dev/null 2>&1 &
    kill_then_check $! "0.$((RANDOM % 3))$((RANDOM % 10))" "$store" "$i"
    for img in $(KILN_ROOT=$store "$KILN" images -q | sort -u); do
      KILN_ROOT=$store "$KILN" save -o "$TMP/whole.tar" "$img" || { echo "iteration $i: $img broken"; false; }
    done
  done
  # A killed build leaves no network helper behind.
  sleep 0.2
  [ "$(helpers)" = "$helpers_before" ] || { ps -eo pid,ppid,stat,args | grep slirp; false; }
  pids=()
  # With SOURCE_DATE_EPOCH the three give the same image whichever records a layer first.
  for i in 1 2 3; do SOURCE_DATE_EPOCH=1700000000 KILN_ROOT=$store "$KILN" build -q -t "crash/side:$i" "$ctx" >/dev/null & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  run env KILN_ROOT=$store "$KILN" system check
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  image_id() { KILN_ROOT=$store "$KILN" inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }
  id1=$(image_id crash/side:1)
  [[ "$id1" == sha256:* ]] && [ "$id1" = "$(image_id crash/side:3)" ]
  run env KILN_ROOT=$store "$KILN" run --rm crash/side:2 cat /s12
  [ "$output" = 12 ]
}

# wait_for_tmp STORE PID: until a build with that pid has scratch dirs in tmp/.
wait_for_tmp() {
  for _ in $(seq 1 100); do
    ls "$1/tmp" | grep -q -- "-$2-" && return 0
    sleep 0.1
  done
  echo "no tmp/*-$2-* appeared"; ls "$1/tmp"; return 1
}

@test "a SIGKILLed build's tmp/ leftovers go at the next command that takes the store lock; a live build's stay" {
  store=$TMP/killed
  KILN_ROOT=$store "$KILN" load -q -i "$FIX/img-docker.tar"
  mkdir -p "$TMP/dead" "$TMP/live" "$TMP/next"
  printf 'FROM busybox\nRUN echo dead > /d\nRUN sleep 60\n' > "$TMP/dead/Dockerfile"
  printf 'FROM busybox\nRUN echo live > /l\nRUN sleep 60\n' > "$TMP/live/Dockerfile"
  printf 'FROM busybox\nRUN echo next > /n\n' > "$TMP/next/Dockerfile"
  KILN_ROOT=$store "$KILN" build -q "$TMP/dead" >/dev/null 2>&1 &
  dead=$!
  KILN_ROOT=$store "$KILN" build -q "$TMP/live" >/dev/null 2>&1 &
  live=$!
  wait_for_tmp "$store" "$dead"
  wait_for_tmp "$store" "$live"
  # Its first step finished (its scratch went to the trash): the sleep is running.
  for p in $dead $live; do
    for _ in $(seq 1 100); do ls "$store/tmp" | grep -q "^trash-$p\$" && break; sleep 0.1; done
    ls "$store/tmp" | grep -q "^trash-$p\$"
  done
  kill -9 "$dead"
  wait "$dead" || true
  run env KILN_ROOT=$store "$KILN" build -q "$TMP/next"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  left=$(ls "$store/tmp")
  kill -9 "$live"
  wait "$live" || true
  [[ "$left" != *"-$dead-"* && "$left" != *"trash-$dead"* ]] || { echo "$left"; false; }
  [[ "$left" == *"snap-$live-"* && "$left" == *"trash-$live"* ]] || { echo "$left"; false; }
}
