#!/usr/bin/env bats
# A hostile-Dockerfile corpus: each way a Dockerfile has reached the host through
# kiln's sandbox is a case, run with kiln's own sandbox and with --runtime runc.
#
# Every attack aims at a canary directory outside the build context, holding a
# random token. A case passes only if the canary is unchanged (listing and
# sha256 of each file), unread (inotifywait watches it for the whole case: any
# open, access, modify, attrib, create, delete or move fails the case), and its
# token appears in no output and no built image. Each case has a positive
# control (the same mount aimed inside its own root works and shows the
# content) so that it cannot pass by failing early, and checks the refusal text.
#
# The probe cases run tests/integration/probe.c in RUN, `kiln run` and both under
# runc, and compare what it sees with docker's defaults as sandbox_expect.py
# computes them from ../shared/conformance/docker-defaults/.
#
# Nothing here can harm the host even against a broken sandbox: canaries live
# under the case's $TMP, the probe only opens devices and writes a /proc/sys file
# back with the value it read.
load helpers

PY=${PY:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
EXPECT=$BATS_TEST_DIRNAME/sandbox_expect.py
DEFAULTS=$CONF/docker-defaults
# Enough ".." to climb from any mount point kiln or runc uses to the host's /.
DEEP=../../../../../../../../../../../..

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  command -v inotifywait >/dev/null || { echo "inotifywait missing (scripts/setup installs inotify-tools)" >&2; return 1; }
  command -v runc >/dev/null || { echo "runc missing (scripts/setup installs it)" >&2; return 1; }
  # The probe image: the probe, a setuid-root copy of it, and files to mount from.
  local d
  d=$(dirname "$KILN_ROOT")/probe-ctx
  mkdir -p "$d/dir"
  gcc -static -O2 -o "$d/probe" "$BATS_TEST_DIRNAME/probe.c"
  cp "$d/probe" "$d/probe-suid"
  chown 0:0 "$d/probe-suid"
  chmod 4755 "$d/probe-suid"
  echo "inside the image" > "$d/inside"
  echo "in a dir of the image" > "$d/dir/file"
  printf 'FROM busybox\nCOPY probe probe-suid inside /\nCOPY dir /dir\n' > "$d/Dockerfile"
  "$KILN" build -q -t sbx-probe:1 "$d" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

setup() {
  TMP=$(mktemp -d)
  CTX=$TMP/ctx
  mkdir -p "$CTX"
  ITOKEN=inside$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  WATCH_PID=
  : > "$TMP/log"
}

teardown() {
  [ -z "$WATCH_PID" ] || { kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; } || true
  rm -rf "$TMP"
}

# complain MESSAGE: says what failed, with the last command's output. It returns 0:
# the caller records the failure (`bad=1` or `return 1`), so that a case goes on
# to its other variants and to the canary check, which bats' `set -e` would skip.
complain() {
  echo "FAILED: $*" >&2
  echo "--- output of the last command:" >&2
  printf '%s\n' "$output" | tail -40 >&2
}

# df LINE...: the Dockerfile, one argument a line (no printf escapes in paths).
df() { printf '%s\n' "$@" > "$CTX/Dockerfile"; }

# kb ARGS...: kiln build with the case's runtime, never from the cache (the cache
# key does not name the runtime), its output kept for the token check.
kb() {
  "$KILN" build --no-cache --progress=plain --runtime "$RUNTIME" "$@" 2>&1 | tee -a "$TMP/log"
  return "${PIPESTATUS[0]}"
}

# kr ARGS...: kiln run with the case's runtime.
kr() {
  "$KILN" run --rm --runtime "$RUNTIME" "$@" 2>&1 | tee -a "$TMP/log"
  return "${PIPESTATUS[0]}"
}

# ---------- the canary ----------

canary_make() {
  TOKEN=kilncanary$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  CANARY=$TMP/canary
  mkdir -p "$CANARY/sub"
  echo "$TOKEN secret" > "$CANARY/secret"
  echo "$TOKEN deep" > "$CANARY/sub/deep"
  echo "$TOKEN victim" > "$CANARY/victim"
  tree_state "$CANARY" > "$TMP/canary.before"
}

# A listing (type, mode, owner, size, link target) and the sha256 of each file.
# The context as the host sees it, but the Dockerfile (each variant writes its own).
tree_state() {
  (cd "$1" && find . ! -path ./Dockerfile -printf '%y %m %u:%g %s %p -> %l\n' | sort &&
    find . -type f ! -path ./Dockerfile -exec sha256sum {} + | sort)
}

canary_watch() {
  inotifywait -m -r -e open,access,modify,attrib,create,delete,delete_self,move_self,moved_from,moved_to \
    --format '%e %w%f' "$CANARY" "$CANARY/secret" "$CANARY/victim" "$CANARY/sub/deep" \
    >"$TMP/inotify.log" 2>"$TMP/inotify.err" 3>&- &
  WATCH_PID=$!
  local i
  for i in $(seq 100); do
    grep -q 'Watches established' "$TMP/inotify.err" && return 0
    sleep 0.05
  done
  echo "inotifywait did not start: $(cat "$TMP/inotify.err")" >&2
  return 1
}

canary_setup() { canary_make && canary_watch; }

# The case's verdict on the canary: unread, unchanged, its token nowhere.
canary_check() {
  local bad=0
  sleep 0.2 # let inotifywait write what it saw
  kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null || true
  WATCH_PID=
  if [ -s "$TMP/inotify.log" ]; then
    echo "FAILED: the canary outside the context was accessed (inotify):" >&2
    sed 's/^/  /' "$TMP/inotify.log" | head -20 >&2
    bad=1
  fi
  tree_state "$CANARY" > "$TMP/canary.after"
  if ! diff -u "$TMP/canary.before" "$TMP/canary.after" >&2; then
    echo "FAILED: the canary outside the context changed (diff above)" >&2
    bad=1
  fi
  if grep -q "$TOKEN" "$TMP/log"; then
    echo "FAILED: the canary's token appeared in kiln's output:" >&2
    grep "$TOKEN" "$TMP/log" | head -5 | sed 's/^/  /' >&2
    bad=1
  fi
  return $bad
}

# image_clean IMAGE: the image's layers and config do not hold the canary's token.
image_clean() {
  "$KILN" save -o "$TMP/image.tar" "$1" || { echo "FAILED: kiln save $1" >&2; return 1; }
  if grep -a -q "$TOKEN" "$TMP/image.tar"; then
    echo "FAILED: the canary's token is in the image $1" >&2
    return 1
  fi
  rm -f "$TMP/image.tar"
}

# expect_refused SRC WHAT: the last build failed on the mount source SRC as not found.
# Cases go on after a failed expectation (`|| bad=1`), so that one run shows every
# variant that fails, and the canary is checked in the end whatever happened.
expect_refused() {
  [ "$status" -ne 0 ] || { complain "$2: the build succeeded; the mount source \"$1\" must not be found inside its root"; return 1; }
  [[ "$output" == *"--mount source \"$1\""* ]] || { complain "$2: the error does not name --mount source \"$1\""; return 1; }
  [[ "$output" == *"not found"* ]] || { complain "$2: the error does not say 'not found'"; return 1; }
}

# expect_ok WHAT TEXT: the last build or run succeeded and showed TEXT.
expect_ok() {
  [ "$status" -eq 0 ] || { complain "$1: failed"; return 1; }
  [[ "$output" == *"$2"* ]] || { complain "$1: the output lacks \"$2\""; return 1; }
}

# What a mount of a hostile source tries: read it, copy it into the image, write
# into it and delete from it. The step succeeds whatever happens, so only kiln's
# refusal can fail the build.
ATTACK='ls -la /h; cat /h /h/secret /h/sub/deep; cp -r /h /stolen; echo pwned > /h/pwned; rm -f /h/victim; true'

# ---------- bind mounts of the context ----------

case_context_link_file() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  ln -s sub/file "$CTX/good"
  ln -s "$CANARY/secret" "$CTX/abslink"
  ln -s ../canary/secret "$CTX/rellink"
  df 'FROM busybox' 'RUN --mount=type=bind,source=good,target=/h cat /h'
  run kb "$CTX"
  expect_ok "a link to a file inside the context (positive control)" "$ITOKEN file" || bad=1
  local l rw
  for l in abslink rellink; do
    for rw in "" ",rw"; do
      df 'FROM busybox' "RUN --mount=type=bind,source=$l,target=/h$rw sh -c '$ATTACK'"
      run kb "$CTX"
      expect_refused "$l" "context link $l -> $(readlink "$CTX/$l")${rw:+ (rw)}" || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "bind: a context link to a host file (absolute, relative; ro, rw) is not followed [kiln]" { case_context_link_file kiln; }
@test "bind: a context link to a host file (absolute, relative; ro, rw) is not followed [runc]" { case_context_link_file runc; }

case_context_link_dir() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  ln -s sub "$CTX/gooddir"
  ln -s "$CANARY" "$CTX/absdir"
  ln -s ../canary "$CTX/reldir"
  df 'FROM busybox' 'RUN --mount=type=bind,source=gooddir,target=/h cat /h/file'
  run kb "$CTX"
  expect_ok "a link to a directory inside the context (positive control)" "$ITOKEN file" || bad=1
  local l rw
  for l in absdir reldir; do
    for rw in "" ",rw"; do
      df 'FROM busybox' "RUN --mount=type=bind,source=$l,target=/h$rw sh -c '$ATTACK'"
      run kb "$CTX"
      expect_refused "$l" "context link $l -> $(readlink "$CTX/$l")${rw:+ (rw)}" || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "bind: a context link to a host directory (absolute, relative; ro, rw) is not followed [kiln]" { case_context_link_dir kiln; }
@test "bind: a context link to a host directory (absolute, relative; ro, rw) is not followed [runc]" { case_context_link_dir runc; }

case_context_dotdot() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  df 'FROM busybox' 'RUN --mount=type=bind,source=sub/../sub/file,target=/h cat /h'
  run kb "$CTX"
  expect_ok "a source with .. that stays in the context (positive control)" "$ITOKEN file" || bad=1
  local s rw
  for s in ../canary/secret ../canary /../canary "sub/../../canary" "$DEEP$CANARY"; do
    for rw in "" ",rw"; do
      df 'FROM busybox' "RUN --mount=type=bind,source=$s,target=/h$rw sh -c '$ATTACK'"
      run kb "$CTX"
      expect_refused "$s" "context source $s${rw:+ (rw)}" || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "bind: a context source with .. is resolved inside the context [kiln]" { case_context_dotdot kiln; }
@test "bind: a context source with .. is resolved inside the context [runc]" { case_context_dotdot runc; }

# Resolving inside the root is not refusing links: absolute links and .. mean the
# root's own paths, as BuildKit resolves them.
case_in_root_links() {
  RUNTIME=$1
  local bad=0
  mkdir -p "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  ln -s /sub/file "$CTX/abslink"
  ln -s /sub "$CTX/absdir"
  ln -s ../../../sub/file "$CTX/uplink"
  local s
  for s in abslink absdir uplink ../sub/file; do
    df 'FROM busybox' "RUN --mount=type=bind,source=$s,target=/h sh -c 'cat /h 2>/dev/null || cat /h/file'"
    run kb "$CTX"
    expect_ok "context source $s (resolved inside the context)" "$ITOKEN file" || bad=1
  done
  for s in /inside /abs /up ../../inside /absdir /updir; do
    df 'FROM busybox AS s' "RUN mkdir /dir && echo '$ITOKEN stage' | tee /inside > /dir/file && ln -s /inside /abs && ln -s ../../../inside /up && ln -s /dir /absdir && ln -s ../../../dir /updir" \
      'FROM busybox' "RUN --mount=type=bind,from=s,source=$s,target=/h sh -c 'cat /h 2>/dev/null || cat /h/file'"
    run kb "$CTX"
    expect_ok "from=stage, source $s (a file, or a link resolved inside the stage)" "$ITOKEN stage" || bad=1
  done
  df 'FROM busybox' "RUN --mount=type=bind,from=sbx-probe:1,source=/inside,target=/h cat /h"
  run kb "$CTX"
  expect_ok "from=image, source a file /inside" "inside the image" || bad=1
  return $bad
}
@test "bind: absolute links, .. and files as sources resolve inside their own root (context, from=stage, from=image) [kiln]" { case_in_root_links kiln; }
@test "bind: absolute links, .. and files as sources resolve inside their own root (context, from=stage, from=image) [runc]" { case_in_root_links runc; }

case_context_rw() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir -p "$CTX/sub"
  echo "$ITOKEN victim" > "$CTX/victim"
  echo "$ITOKEN keep" > "$CTX/keep"
  echo "$ITOKEN file" > "$CTX/sub/file"
  ln -s sub/file "$CTX/link"
  df 'FROM busybox' \
    'RUN --mount=type=bind,target=/ctx,rw sh -c "echo new > /ctx/newfile && rm /ctx/victim /ctx/link && echo more >> /ctx/keep && mkdir /ctx/newdir && rm -r /ctx/sub && chmod 600 /ctx/keep && echo WROTE-OK"' \
    'RUN --mount=type=bind,source=sub,target=/s,rw sh -c "echo x > /s/file && rm /s/file && echo SUB-WROTE-OK"' \
    'RUN --mount=type=bind,target=/ctx sh -c "cat /ctx/victim /ctx/keep /ctx/sub/file; ls /ctx; test ! -e /ctx/newfile && echo NO-NEWFILE"'
  tree_state "$CTX" > "$TMP/ctx.before"
  run kb -t sbx-rw:1 "$CTX"
  tree_state "$CTX" > "$TMP/ctx.after"
  diff -u "$TMP/ctx.before" "$TMP/ctx.after" >&2 || { complain "the host's context changed through a rw bind (diff above)"; bad=1; }
  # The controls: the writes and deletes worked inside the steps.
  [[ "$output" == *WROTE-OK* ]] || { complain "writes and deletes in a rw bind of the context failed in the step (positive control)"; bad=1; }
  [[ "$output" == *SUB-WROTE-OK* ]] || { complain "writes and deletes in a rw bind of a context dir failed in the step (positive control)"; bad=1; }
  [ "$status" -eq 0 ] && [[ "$output" == *"$ITOKEN victim"*"$ITOKEN keep"*"$ITOKEN file"*NO-NEWFILE* ]] \
    || { complain "a later step's bind does not see the context as it was"; bad=1; }
  [ "$status" -ne 0 ] || image_clean sbx-rw:1 || bad=1
  canary_check || bad=1
  return $bad
}
@test "bind rw: a step's writes and deletes vanish; the host context is byte-for-byte unchanged [kiln]" { case_context_rw kiln; }
@test "bind rw: a step's writes and deletes vanish; the host context is byte-for-byte unchanged [runc]" { case_context_rw runc; }

case_context_rw_link() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir -p "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  tree_state "$CTX" > "$TMP/ctx.before"
  # The control: inside the step, the link it made is there and works.
  df 'FROM busybox' 'RUN --mount=type=bind,target=/ctx,rw sh -c "ln -s sub /ctx/fine && cat /ctx/fine/file"'
  run kb "$CTX"
  expect_ok "a link made in a rw bind, used in the same step (positive control)" "$ITOKEN file" || bad=1
  local l target rw
  for l in evil evilrel; do
    [ $l = evil ] && target=$CANARY || target=../canary
    for rw in "" ",rw"; do
      # A name of its own for each variant: a link a broken kiln left in the host's
      # context must not make the next variant fail early.
      [ -z "$rw" ] || l=${l}_rw
      df 'FROM busybox' "RUN --mount=type=bind,target=/ctx,rw ln -s $target /ctx/$l" \
        "RUN --mount=type=bind,source=$l,target=/h$rw sh -c '$ATTACK'"
      run kb "$CTX"
      expect_refused "$l" "a link $l -> $target made by an earlier step's rw bind${rw:+ (rw)}" || bad=1
    done
  done
  tree_state "$CTX" > "$TMP/ctx.after"
  diff -u "$TMP/ctx.before" "$TMP/ctx.after" >&2 || { complain "the host's context changed (diff above)"; bad=1; }
  canary_check || bad=1
  return $bad
}
@test "bind rw: a link an earlier step made in the context cannot be mounted [kiln]" { case_context_rw_link kiln; }
@test "bind rw: a link an earlier step made in the context cannot be mounted [runc]" { case_context_rw_link runc; }

# ---------- bind mounts from= a stage or an image ----------

# from_df FROM SOURCE RW: a Dockerfile mounting SOURCE of FROM (a stage s or an image).
from_df() {
  df 'FROM busybox AS s' "RUN mkdir /dir && echo '$ITOKEN stage' > /dir/file" \
    'FROM busybox' "RUN --mount=type=bind,from=$1,source=$2,target=/h$3 sh -c '$ATTACK'"
}

case_from_dotdot() {
  RUNTIME=$1
  local bad=0
  local from=$2 what=$3 control=$4
  canary_setup
  df 'FROM busybox AS s' "RUN mkdir /dir && echo '$ITOKEN stage' > /dir/file" \
    'FROM busybox' "RUN --mount=type=bind,from=$from,source=/dir,target=/h cat /h/file"
  run kb "$CTX"
  expect_ok "from=$what, source /dir (positive control)" "$control" || bad=1
  local s rw
  for s in "$DEEP$CANARY/secret" "$DEEP$CANARY" "/$DEEP$CANARY"; do
    for rw in "" ",rw"; do
      from_df "$from" "$s" "$rw"
      run kb "$CTX"
      expect_refused "$s" "from=$what, source $s${rw:+ (rw)}" || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "bind from= a stage: .. in the source stays in the stage (file, dir; ro, rw) [kiln]" { case_from_dotdot kiln s stage "$ITOKEN stage"; }
@test "bind from= a stage: .. in the source stays in the stage (file, dir; ro, rw) [runc]" { case_from_dotdot runc s stage "$ITOKEN stage"; }
@test "bind from= an image: .. in the source stays in the image (file, dir; ro, rw) [kiln]" { case_from_dotdot kiln sbx-probe:1 image "in a dir of the image"; }
@test "bind from= an image: .. in the source stays in the image (file, dir; ro, rw) [runc]" { case_from_dotdot runc sbx-probe:1 image "in a dir of the image"; }

case_from_link() {
  RUNTIME=$1
  local bad=0
  local kind=$2
  canary_setup
  local links="mkdir /dir && echo '$ITOKEN stage' > /dir/file && ln -s dir /good && ln -s $CANARY /l && ln -s $CANARY/secret /lf && ln -s $DEEP$CANARY /lrel && ln -s $DEEP$CANARY/secret /lfrel"
  local from=s
  if [ "$kind" = image ]; then
    # The links are in an image built before, mounted by name.
    df 'FROM busybox' "RUN $links"
    run kb -t "sbx-links:$ITOKEN" "$CTX"
    [ "$status" -eq 0 ] || { complain "building the image with links"; return 1; }
    from=sbx-links:$ITOKEN
  fi
  lf_df() {
    if [ "$kind" = image ]; then
      df 'FROM busybox' "RUN --mount=type=bind,from=$from,source=$1,target=/h$2 sh -c '$3'"
    else
      df 'FROM busybox AS s' "RUN $links" 'FROM busybox' "RUN --mount=type=bind,from=s,source=$1,target=/h$2 sh -c '$3'"
    fi
  }
  lf_df /good "" 'cat /h/file'
  run kb "$CTX"
  expect_ok "from=$kind, a relative link to a directory inside it (positive control)" "$ITOKEN stage" || bad=1
  local s rw
  for s in /l /lf /lrel /lfrel; do
    for rw in "" ",rw"; do
      lf_df "$s" "$rw" "$ATTACK"
      run kb "$CTX"
      expect_refused "$s" "from=$kind, a link $s to the host${rw:+ (rw)}" || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "bind from= a stage: a link in the stage to a host path is resolved in the stage [kiln]" { case_from_link kiln stage; }
@test "bind from= a stage: a link in the stage to a host path is resolved in the stage [runc]" { case_from_link runc stage; }
@test "bind from= an image: a link in the image to a host path is resolved in the image [kiln]" { case_from_link kiln image; }
@test "bind from= an image: a link in the image to a host path is resolved in the image [runc]" { case_from_link runc image; }

# ---------- mount targets through links ----------

case_targets() {
  RUNTIME=$1
  local bad=0
  canary_setup
  mkdir -p "$CTX/sub"
  echo "$ITOKEN file" > "$CTX/sub/file"
  echo "$ITOKEN-secret-value" > "$TMP/secretfile"
  df 'FROM busybox' 'RUN mkdir /inner && ln -s /inner /t' \
    'RUN --mount=type=bind,source=sub,target=/t/b sh -c "cat /t/b/file && ls /inner"'
  run kb "$CTX"
  expect_ok "a bind mount target through a link /t -> /inner inside the root (positive control)" "$ITOKEN file" || bad=1
  expect_ok "a bind mount target through a link /t -> /inner is made in /inner (positive control)" b || bad=1
  # Each mount shows that it is there, at /t/NAME inside the container.
  local mounts=(
    'bind:--mount=type=bind,source=sub,target=/t/b cat /t/b/file'
    'bind rw:--mount=type=bind,source=sub,target=/t/brw,rw sh -c "echo x > /t/brw/new && [ \$(stat -c %d /t/brw) != \$(stat -c %d /) ] && echo BINDRW-OK"'
    'tmpfs:--mount=type=tmpfs,target=/t/tmp sh -c "[ \$(stat -f -c %T /t/tmp) = tmpfs ] && touch /t/tmp/f && echo TMPFS-OK"'
    "cache:--mount=type=cache,id=c$ITOKEN,target=/t/cache sh -c '[ \$(stat -c %d /t/cache) != \$(stat -c %d /) ] && echo x > /t/cache/f && echo CACHE-OK'"
    'secret:--mount=type=secret,id=s,target=/t/secret cat /t/secret'
  )
  local shows=("$ITOKEN file" BINDRW-OK TMPFS-OK CACHE-OK "$ITOKEN-secret-value")
  local t i
  for t in "$CANARY" "$DEEP$CANARY"; do
    for i in "${!mounts[@]}"; do
      df 'FROM busybox' "RUN ln -s $t /t" "RUN ${mounts[$i]#*:}" 'RUN ls -la /t/ > /t-listing'
      run kb --secret "id=s,src=$TMP/secretfile" -t sbx-targets:1 "$CTX"
      expect_ok "a ${mounts[$i]%%:*} mount through a link /t -> $t is at /t inside the container" "${shows[$i]}" || bad=1
      [ "$status" -ne 0 ] || image_clean sbx-targets:1 || bad=1
    done
  done
  canary_check || bad=1
  return $bad
}
@test "mount targets (bind, tmpfs, cache, secret) through a link to a host path stay in the container [kiln]" { case_targets kiln; }
@test "mount targets (bind, tmpfs, cache, secret) through a link to a host path stay in the container [runc]" { case_targets runc; }

# ---------- the probes: docker's defaults, in RUN and in kiln run ----------

probe_words() { # probe_words GROUP: the probe's arguments for that group
  case $1 in
    status) echo status syscalls ;;
    caps) echo status ;;
    devices) echo devices $("$PY" "$EXPECT" "$DEFAULTS" --device-args) nodes $("$PY" "$EXPECT" "$DEFAULTS" --node-args) ;;
    paths) echo paths $("$PY" "$EXPECT" "$DEFAULTS" --masked-args) $("$PY" "$EXPECT" "$DEFAULTS" --readonly-args) \
      sysctl $("$PY" "$EXPECT" "$DEFAULTS" --sysctl-args) ;;
  esac
}

# probe_case RUNTIME build|run GROUP USER REQUIRE: runs the probe, compares with docker.
probe_case() {
  RUNTIME=$1
  local bad=0
  local where=$2 group=$3 user=$4 require=$5 words
  words=$(probe_words "$group")
  if [ "$where" = build ]; then
    df 'FROM sbx-probe:1' "USER $user" "RUN /probe $words"
    run kb "$CTX"
  else
    run kr -u "$user" sbx-probe:1 /probe $words
  fi
  [ "$status" -eq 0 ] || { complain "the probe did not run"; bad=1; }
  printf '%s\n' "$output" > "$TMP/probe.out"
  local u=root
  [ "$user" = root ] || u=nonroot
  run "$PY" "$EXPECT" "$DEFAULTS" --user "$u" --require "$require" "$TMP/probe.out"
  [ "$status" -eq 0 ] || { complain "the sandbox differs from docker's defaults ($where, $RUNTIME, user $user):"; bad=1; }
  return $bad
}

@test "probe RUN: capabilities, Seccomp, NoNewPrivs and the seccomp policy are docker's [kiln]" { probe_case kiln build status root status,syscalls; }
@test "probe RUN: capabilities, Seccomp, NoNewPrivs and the seccomp policy are docker's [runc]" { probe_case runc build status root status,syscalls; }
@test "probe kiln run: capabilities, Seccomp, NoNewPrivs and the seccomp policy are docker's [kiln]" { probe_case kiln run status root status,syscalls; }
@test "probe kiln run: capabilities, Seccomp, NoNewPrivs and the seccomp policy are docker's [runc]" { probe_case runc run status root status,syscalls; }
@test "probe RUN as USER nobody: no capabilities but docker's bounding set [kiln]" { probe_case kiln build caps nobody status; }
@test "probe RUN as USER nobody: no capabilities but docker's bounding set [runc]" { probe_case runc build caps nobody status; }
@test "probe kiln run -u nobody: no capabilities but docker's bounding set [kiln]" { probe_case kiln run caps nobody status; }
@test "probe kiln run -u nobody: no capabilities but docker's bounding set [runc]" { probe_case runc run caps nobody status; }
@test "probe RUN: devices: mknod works, only docker's allowed devices open [kiln]" { probe_case kiln build devices root devices; }
@test "probe RUN: devices: mknod works, only docker's allowed devices open [runc]" { probe_case runc build devices root devices; }
@test "probe kiln run: devices: mknod works, only docker's allowed devices open [kiln]" { probe_case kiln run devices root devices; }
@test "probe kiln run: devices: mknod works, only docker's allowed devices open [runc]" { probe_case runc run devices root devices; }
@test "probe RUN: masked and read-only paths, /proc/sys not writable [kiln]" { probe_case kiln build paths root sysctl; }
@test "probe RUN: masked and read-only paths, /proc/sys not writable [runc]" { probe_case runc build paths root sysctl; }
@test "probe kiln run: masked and read-only paths, /proc/sys not writable [kiln]" { probe_case kiln run paths root sysctl; }
@test "probe kiln run: masked and read-only paths, /proc/sys not writable [runc]" { probe_case runc run paths root sysctl; }

# ---------- setuid programs (no no_new_privs) ----------

setuid_case() {
  RUNTIME=$1
  local bad=0
  local where=$2
  if [ "$where" = build ]; then
    df 'FROM sbx-probe:1' 'USER nobody' 'RUN stat -c "mode=%a owner=%u" /probe-suid && /probe-suid euid'
    run kb "$CTX"
  else
    run kr -u nobody sbx-probe:1 sh -c 'stat -c "mode=%a owner=%u" /probe-suid && /probe-suid euid'
  fi
  [ "$status" -eq 0 ] || { complain "the setuid probe did not run"; bad=1; }
  [[ "$output" == *"mode=4755 owner=0"* ]] || { complain "the image's /probe-suid is not setuid root (a test bug)"; bad=1; }
  [[ "$output" == *"PROBE uid=65534"* ]] || { complain "the probe did not run as nobody"; bad=1; }
  [[ "$output" == *"PROBE euid=0"* ]] || { complain "a setuid-root program did not get euid 0 (no_new_privs set?)"; bad=1; }
  return $bad
}
@test "setuid: a setuid-root program runs as root under USER nobody in RUN [kiln]" { setuid_case kiln build; }
@test "setuid: a setuid-root program runs as root under USER nobody in RUN [runc]" { setuid_case runc build; }
@test "setuid: a setuid-root program runs as root under kiln run -u nobody [kiln]" { setuid_case kiln run; }
@test "setuid: a setuid-root program runs as root under kiln run -u nobody [runc]" { setuid_case runc run; }

# ---------- the caller's descriptors ----------

fds_case() {
  RUNTIME=$1
  local bad=0
  local where=$2
  canary_make
  # Opened before the watch starts: only what kiln does with them is watched.
  exec 7<"$CANARY" 8<"$CANARY/secret"
  canary_watch
  local host_fds="" f
  for f in /proc/$$/fd/*; do
    [ "${f##*/}" -gt 2 ] 2>/dev/null && host_fds+="$(readlink "$f") "
  done
  if [ "$where" = build ]; then
    df 'FROM sbx-probe:1' 'RUN ls -l /proc/self/fd; cat /proc/self/fd/7/secret /proc/self/fd/8; ls /proc/self/fd/7/; /probe fds'
    run kb "$CTX"
  else
    run kr sbx-probe:1 sh -c 'ls -l /proc/self/fd /proc/1/fd; cat /proc/self/fd/7/secret /proc/self/fd/8 /proc/1/fd/7/secret /proc/1/fd/8; ls /proc/1/fd/7/; /probe fds; /probe fds /proc/1/fd'
  fi
  exec 7<&- 8<&-
  [ "$status" -eq 0 ] || { complain "the step did not run"; bad=1; }
  [[ "$output" == *"PROBE fds="* ]] || { complain "the probe did not run"; bad=1; }
  [[ "$output" == *"PROBE fds=0,1,2"$'\n'* || "$output" == *"PROBE fds=0,1,2" ]] \
    || { complain "the process has descriptors beyond 0, 1, 2: $(grep -o 'PROBE fd[s.][^ ]*' <<<"$output" | tr '\n' ' ')"; bad=1; }
  if [ "$where" = run ]; then
    # kiln run's init (PID 1): unreadable, or holding none of the caller's descriptors.
    local line target
    while read -r line; do
      target=${line#*=}
      [[ " $host_fds " != *" $target "* ]] || { complain "PID 1 holds the caller's descriptor ${line%%=*} -> $target"; bad=1; }
      [[ "$target" != *"$CANARY"* ]] || { complain "PID 1 holds the canary: $line"; bad=1; }
    done < <(grep -o 'PROBE fdlink\.[0-9]*=.*' <<<"$output" | sed 's/^PROBE //')
  fi
  canary_check || bad=1
  return $bad
}
@test "fds: the caller's descriptors do not reach a RUN step [kiln]" { fds_case kiln build; }
@test "fds: the caller's descriptors do not reach a RUN step [runc]" { fds_case runc build; }
@test "fds: the caller's descriptors do not reach kiln run's process or its init [kiln]" { fds_case kiln run; }
@test "fds: the caller's descriptors do not reach kiln run's process or its init [runc]" { fds_case runc run; }

# ---------- entitlements ----------

insecure_case() {
  RUNTIME=$1
  local bad=0
  df 'FROM busybox' "RUN --security=insecure sh -c 'mkdir -p /mnt && mount -t tmpfs none /mnt && echo MOUNTED-$ITOKEN'"
  run kb "$CTX"
  [ "$status" -ne 0 ] || { complain "RUN --security=insecure ran without --allow security.insecure"; bad=1; }
  [[ "$output" == *"security.insecure"* && "$output" == *"not allowed"* ]] \
    || { complain "the refusal does not say security.insecure is not allowed"; bad=1; }
  run kb --allow security.insecure "$CTX"
  expect_ok "RUN --security=insecure with --allow security.insecure mounts a tmpfs" "MOUNTED-$ITOKEN" || bad=1
  return $bad
}
@test "entitlements: RUN --security=insecure needs --allow security.insecure [kiln]" { insecure_case kiln; }
@test "entitlements: RUN --security=insecure needs --allow security.insecure [runc]" { insecure_case runc; }

network_host_case() {
  RUNTIME=$1
  local bad=0
  local hostnet
  hostnet=$(readlink /proc/self/ns/net)
  df 'FROM busybox' 'RUN --network=host readlink /proc/self/ns/net'
  run kb "$CTX"
  [ "$status" -ne 0 ] || { complain "RUN --network=host ran without --allow network.host"; bad=1; }
  [[ "$output" == *"network.host"* && "$output" == *"not allowed"* ]] \
    || { complain "the refusal does not say network.host is not allowed"; bad=1; }
  # Refused before anything the step mounts is looked for: no pull of its from= image.
  df 'FROM busybox' 'RUN --network=host --mount=type=bind,from=nosuch.invalid/img:2,target=/m true'
  run kb "$CTX"
  [[ "$output" == *"entitlement network.host is not allowed"* && "$output" != *"pulling"* ]] \
    || { complain "a refused RUN --network=host still resolved its from= image: $output"; bad=1; }
  df 'FROM busybox' 'RUN --network=host readlink /proc/self/ns/net'
  run kb --allow network.host "$CTX"
  expect_ok "RUN --network=host with --allow network.host is in the host's network" "$hostnet" || bad=1
  return $bad
}
@test "entitlements: RUN --network=host needs --allow network.host [kiln]" { network_host_case kiln; }
@test "entitlements: RUN --network=host needs --allow network.host [runc]" { network_host_case runc; }

# ---------- the oracle itself ----------

# sandbox_expect.py's answers must be reachable: runc, configured as docker
# configures it (from the same data), meets every one of them. A failure here is a
# bug in the test, not in kiln.
@test "oracle: a runc bundle configured as docker's defaults meets every probe expectation" {
  local b=$TMP/bundle d
  d=$(dirname "$KILN_ROOT")/probe-ctx
  mkdir -p "$b/rootfs"/{bin,proc,sys,dev,tmp,etc}
  cp /bin/busybox "$b/rootfs/bin/" && ln -s busybox "$b/rootfs/bin/sh"
  cp -a "$d/probe" "$d/probe-suid" "$b/rootfs/"
  (cd "$b" && runc spec)
  local words
  words="all $(probe_words devices) $(probe_words paths)"
  "$PY" "$EXPECT" "$DEFAULTS" --docker-spec "$b/config.json" 0 /probe $words
  run runc run --bundle "$b" "kiln-oracle-$$-$BATS_TEST_NUMBER" </dev/null
  printf '%s\n' "$output" > "$TMP/probe.out"
  run "$PY" "$EXPECT" "$DEFAULTS" --user root --require status,syscalls,fds,devices,sysctl "$TMP/probe.out"
  [ "$status" -eq 0 ] || { complain "root in a docker-configured runc bundle"; return 1; }
  "$PY" "$EXPECT" "$DEFAULTS" --docker-spec "$b/config.json" 65534 /probe status
  run runc run --bundle "$b" "kiln-oracle-$$-$BATS_TEST_NUMBER" </dev/null
  printf '%s\n' "$output" > "$TMP/probe.out"
  run "$PY" "$EXPECT" "$DEFAULTS" --user nonroot --require status "$TMP/probe.out"
  [ "$status" -eq 0 ] || { complain "nobody in a docker-configured runc bundle"; return 1; }
  "$PY" "$EXPECT" "$DEFAULTS" --docker-spec "$b/config.json" 65534 /probe-suid euid
  run runc run --bundle "$b" "kiln-oracle-$$-$BATS_TEST_NUMBER" </dev/null
  [[ "$output" == *"PROBE uid=65534"*"PROBE euid=0"* ]] || { complain "a setuid-root program as nobody in a docker-configured runc bundle"; return 1; }
}

# ---------- relaxing is explicit (kiln run's flags), and the device rules on cgroup v2 ----------

# docker's default bounding set as a mask, from capabilities.txt (capsh knows the numbers).
caps_mask() { # caps_mask [+CAP|-CAP]...
  "$PY" - "$DEFAULTS/capabilities.txt" "$@" <<'PYEOF'
import sys, ctypes, ctypes.util
libcap = ctypes.CDLL(ctypes.util.find_library("cap"))
def num(name):
    v = ctypes.c_int()
    assert libcap.cap_from_name(name.lower().encode(), ctypes.byref(v)) == 0, name
    return v.value
caps = {num(l.strip()) for l in open(sys.argv[1]) if l.strip()}
for a in sys.argv[2:]:
    (caps.add if a[0] == "+" else caps.discard)(num(a[1:]))
print("%016x" % sum(1 << c for c in caps))
PYEOF
}

status_of() { # status_of FIELD (from the probe image's /proc/self/status)
  grep "^$1:" | awk '{print $2}'
}

@test "run: --cap-add/--cap-drop change the bounding set from docker's; an unknown one is refused" {
  run kiln run --rm --cap-add NET_ADMIN --cap-drop chown sbx-probe:1 cat /proc/self/status
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(status_of CapBnd <<<"$output")" = "$(caps_mask +CAP_NET_ADMIN -CAP_CHOWN)" ]
  [ "$(status_of CapEff <<<"$output")" = "$(caps_mask +CAP_NET_ADMIN -CAP_CHOWN)" ]
  [ "$(status_of CapInh <<<"$output")" = 0000000000000000 ]
  run kiln run --rm --cap-drop ALL --cap-add KILL sbx-probe:1 cat /proc/self/status
  [ "$(status_of CapBnd <<<"$output")" = 0000000000000020 ]
  # With CAP_SYS_ADMIN, docker's profile lets a namespace be made.
  run kiln run --rm sbx-probe:1 unshare -U true
  [ "$status" -ne 0 ]
  run kiln run --rm --cap-add SYS_ADMIN sbx-probe:1 unshare -U true
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm --cap-add CAP_NOPE sbx-probe:1 true
  [ "$status" -eq 125 ]
  [[ "$output" == *'invalid --cap-add: unknown capability: "CAP_NOPE"'* ]]
}

@test "run: --privileged gets every capability kiln has, no seccomp, nothing masked; --security-opt relaxes or tightens one thing" {
  own=$(grep '^CapBnd:' /proc/self/status | awk '{print $2}')
  run kiln run --rm --privileged sbx-probe:1 sh -c 'cat /proc/self/status; mkdir -p /m && mount -t tmpfs x /m && echo MOUNTED; grep -c " /proc/sys " /proc/self/mountinfo; true'
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(status_of CapBnd <<<"$output")" = "$own" ]
  [ "$(status_of Seccomp <<<"$output")" = 0 ]
  [[ "$output" == *MOUNTED* ]]
  [ "${lines[-1]}" = 0 ] # /proc/sys is not a read-only mount of its own
  run kiln run --rm --security-opt no-new-privileges sbx-probe:1 cat /proc/self/status
  [ "$(status_of NoNewPrivs <<<"$output")" = 1 ]
  run kiln run --rm --security-opt seccomp=unconfined sbx-probe:1 cat /proc/self/status
  [ "$(status_of Seccomp <<<"$output")" = 0 ]
  echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' > "$TMP/profile.json"
  run kiln run --rm --security-opt "seccomp=$TMP/profile.json" sbx-probe:1 mkdir /x
  [ "$status" -ne 0 ]
  [[ "$output" == *"Permission denied"* ]]
  echo '{"defaultAction":"SCMP_ACT_NOPE"}' > "$TMP/bad.json"
  run kiln run --rm --security-opt "seccomp=$TMP/bad.json" sbx-probe:1 true
  [ "$status" -eq 125 ]
  [[ "$output" == *"seccomp profile: defaultAction is missing or unknown"* ]]
  run kiln run --rm --security-opt bogus sbx-probe:1 true
  [ "$status" -eq 125 ]
  [[ "$output" == *'invalid --security-opt: "bogus"'* ]]
}

@test "devices: the same allow-list through a cgroup v2 device program (KILN_DEVICE_CGROUP=v2)" {
  grep -q ' - cgroup2 ' /proc/self/mountinfo || { echo "no cgroup2 mount on this host" >&2; false; }
  cmd='mknod /tmp/kvm c 10 232 && echo MADE; cat /tmp/kvm; mknod /tmp/fuse c 10 229; cat /tmp/fuse; head -c 4 /dev/urandom | wc -c; : > /dev/null && echo NULL-OK'
  for how in build run; do
    if [ $how = build ]; then
      printf 'FROM busybox\nRUN %s\n' "$cmd" > "$CTX/Dockerfile"
      run env KILN_DEVICE_CGROUP=v2 "$KILN" build --no-cache --progress plain "$CTX"
    else
      run env KILN_DEVICE_CGROUP=v2 "$KILN" run --rm busybox sh -c "$cmd"
    fi
    [[ "$output" == *MADE* ]] || { echo "$how: $output"; false; }
    [[ "$output" == *"can't open '/tmp/kvm': Operation not permitted"* ]] || { echo "$how: $output"; false; }
    [[ "$output" == *"can't open '/tmp/fuse': Operation not permitted"* ]] || { echo "$how: $output"; false; }
    [[ "$output" == *NULL-OK* ]] || { echo "$how: $output"; false; }
  done
}

# ---------- found by an attacker's pass over the new sandbox ----------

case_proc_moved() {
  RUNTIME=$1
  local bad=0
  # The control: a plain image runs.
  df 'FROM busybox' 'RUN echo plain-ok'
  run kb "$CTX"
  expect_ok "a plain step (positive control)" plain-ok || bad=1
  # An image whose /proc is a link: proc would land elsewhere, past every mask.
  df 'FROM busybox AS a' 'RUN mkdir -p /o/dev && ln -s /dev/x /o/proc && ln -s /D /o/dev/x' \
    'FROM busybox' 'COPY --from=a /o/ /' \
    'RUN test -w /D/sys/kernel/core_pattern && echo "PROC-SYS-W""RITABLE"; echo ran'
  run kb -t sbx-proc-moved:1 "$CTX"
  [ "$status" -ne 0 ] || { complain "an image with /proc -> /dev/x -> /D built"; bad=1; }
  [[ "$output" != *PROC-SYS-WRITABLE* ]] || { complain "/proc/sys was writable at the moved proc"; bad=1; }
  if [ "$RUNTIME" = kiln ]; then
    [[ "$output" == *"/proc must be mounted on an ordinary directory"* ]] || { complain "no clear refusal"; bad=1; }
  fi
  return $bad
}
@test "an image whose /proc is a symlink is refused (the masks would miss a proc mounted elsewhere) [kiln]" { case_proc_moved kiln; }
@test "an image whose /proc is a symlink is refused (the masks would miss a proc mounted elsewhere) [runc]" { case_proc_moved runc; }

case_ro_bind_relookup() {
  RUNTIME=$1
  local bad=0
  ln -s /proc "$CTX/link"
  tree_state "$CTX" > "$TMP/ctx.before"
  # The target /d/link, looked up again after the bind, would lead into the
  # mounted context and make the wrong mount read-only.
  df 'FROM busybox' 'RUN mkdir /d && ln -s /d /d/link' \
    'RUN --mount=type=bind,target=/d/link sh -c "echo PWNED > /d/victim.txt; ls /d; echo step-ran"'
  run kb "$CTX"
  expect_ok "the step runs (positive control: the context is there)" step-ran || bad=1
  [[ "$output" == *"Read-only file system"* ]] || { complain "the bind was writable"; bad=1; }
  tree_state "$CTX" > "$TMP/ctx.after"
  diff -u "$TMP/ctx.before" "$TMP/ctx.after" >&2 || { complain "the host's context changed"; bad=1; }
  return $bad
}
@test "a read-only bind stays read-only when its target resolves through the mounted context [kiln]" { case_ro_bind_relookup kiln; }
@test "a read-only bind stays read-only when its target resolves through the mounted context [runc]" { case_ro_bind_relookup runc; }

@test "COPY follows a source link inside its own root, and never opens a device or a FIFO" {
  RUNTIME=kiln
  canary_setup
  ln -s "$CANARY/secret" "$CTX/abs"
  mkdir -p "$CTX/sub"
  ln -s ../../canary/secret "$CTX/sub/up"
  echo inside > "$CTX/inside"
  ln -s /inside "$CTX/good"
  local bad=0
  df 'FROM busybox' 'COPY good /g' 'RUN cat /g'
  run kb "$CTX"
  expect_ok "a context link to a file inside the context (positive control)" inside || bad=1
  for l in abs sub/up; do
    df 'FROM busybox' "COPY $l /stolen" 'RUN ls -l /stolen; cat /stolen'
    run kb "$CTX"
    [ "$status" -ne 0 ] || { complain "COPY $l (a link out of the context) built"; bad=1; }
    [[ "$output" == *"not found in the build context"* ]] || { complain "COPY $l: no clear refusal"; bad=1; }
  done
  # A stage's link to a FIFO and to a device: copied as what they are, never
  # opened (a FIFO would hang the build, a device would be read by kiln).
  df 'FROM busybox AS a' 'RUN mkfifo /f && ln -s /f /lf && mknod /n c 1 3 && ln -s /n /ln && mkdir /d && echo in-stage > /d/x && ln -s /d/x /lx' \
    'FROM busybox' 'COPY --from=a /lf /fifo' 'COPY --from=a /ln /node' 'COPY --from=a /lx /x' \
    'RUN ls -l /fifo; cat /x; test -e /node && echo NODE-COPIED || echo no-node'
  run timeout 60 "$KILN" build --no-cache --progress=plain "$CTX"
  expect_ok "COPY of stage links to a FIFO, a device and a file" in-stage || bad=1
  [[ "$output" == *"prw-"* ]] || { complain "the FIFO was not made as a FIFO"; bad=1; }
  canary_check || bad=1
  [ $bad -eq 0 ]
}

@test "mount-point cleanup follows no link a step swapped in: the host is not touched" {
  RUNTIME=kiln
  canary_make
  mkdir "$CANARY/y"
  tree_state "$CANARY" > "$TMP/canary.before"
  canary_watch
  df 'FROM busybox' "RUN --mount=type=tmpfs,target=/x/y sh -c 'mv /x /x2 && ln -s $CANARY /x && echo swapped'"
  run kb "$CTX"
  expect_ok "the step ran" swapped || { canary_check; false; }
  [ -d "$CANARY/y" ] || { complain "kiln removed the host's $CANARY/y"; false; }
  canary_check
}

@test "secrets: a file in the step's own tmpfs, owned as asked; never in the host's /dev/shm" {
  RUNTIME=kiln
  echo "s3cr3t-$ITOKEN" > "$TMP/secret"
  df 'FROM busybox' 'RUN --mount=type=secret,id=tok,target=/run/tok,uid=1000,mode=0440 sh -c "ls -ln /run/tok; cat /run/tok; sleep 2"'
  kb --secret "id=tok,src=$TMP/secret" "$CTX" > "$TMP/out" 2>&1 &
  pid=$!
  leaked=
  for _ in $(seq 1 30); do
    ls /dev/shm | grep -q kiln-secret && leaked=1
    grep -q "s3cr3t" "$TMP/out" && break
    sleep 0.1
  done
  ls /dev/shm | grep -q kiln-secret && leaked=1
  status=0
  wait "$pid" || status=$?
  output=$(cat "$TMP/out")
  expect_ok "the secret reached the step" "s3cr3t-$ITOKEN"
  [[ "$output" == *"-r--r-----"*" 1000 "* ]] || { complain "owner or mode not as asked"; false; }
  [ -z "$leaked" ] || { complain "a secret file appeared in the host's /dev/shm"; false; }
}

@test "kiln run: the container's stdio are pipes, not the caller's files; its init shows no host command line" {
  echo before > "$TMP/out.log"
  chmod 644 "$TMP/out.log"
  kiln run --rm busybox sh -c 'ls -l /proc/self/fd/1; chmod 777 /proc/self/fd/1 2>/dev/null; echo appended' >> "$TMP/out.log"
  [ "$(stat -c %a "$TMP/out.log")" = 644 ]
  grep -q 'pipe:' "$TMP/out.log"
  [ "$(head -1 "$TMP/out.log")" = before ]
  grep -qx appended "$TMP/out.log"
  run kiln run --rm -e "HOSTSECRET=$ITOKEN" -v "$TMP:/mnt/h" busybox sh -c 'tr "\0" " " < /proc/1/cmdline'
  [ "$status" -eq 0 ]
  [[ "$output" == kiln-init* ]]
  [[ "$output" != *"$ITOKEN"* && "$output" != *"$TMP"* ]]
  # Standard input still reaches it, through its pipe.
  run bash -c "printf 'a\nb\n' | '$KILN' run --rm -i busybox wc -l"
  [ "$output" = 2 ]
}

@test "an OCI runtime's bundle, with a step's environment, never reaches the store's snapshots" {
  RUNTIME=runc
  echo "envsecret-$ITOKEN" > "$TMP/secret"
  df 'FROM busybox' 'RUN --mount=type=secret,id=tok,env=TOK sh -c "test -n \"$TOK\" && echo > /made"'
  run kb --secret "id=tok,src=$TMP/secret" "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  refute grep -rq "envsecret-$ITOKEN" "$KILN_ROOT/snapshots" "$KILN_ROOT/blobs"
}

@test "COPY destinations resolve every link from the image's root, and one to a missing directory makes it" {
  RUNTIME=kiln
  echo payload > "$CTX/f"
  df 'FROM busybox' 'RUN mkdir -p /real/b && ln -s /real /a && ln -s /nowhere/x /dang' \
    'COPY f /a/b/' 'COPY f /dang/' 'RUN cat /real/b/f /nowhere/x/f; readlink /dang'
  run kb "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"payload"*"payload"*"/nowhere/x"* ]]
}
