# Shared by the bats files on containers (load after helpers): one store per file
# with the base images, teardown_file removing what a failed test left running,
# and the helpers several of these files use.

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

# remove_all_containers: rm -f of every container the store holds.
remove_all_containers() {
  local ids
  ids=$("$KILN" ps -aq --no-trunc 2>/dev/null) || true
  [ -z "$ids" ] || "$KILN" rm -f $ids >/dev/null 2>&1 || true
}

teardown_file() {
  remove_all_containers
  rm -rf "$(dirname "$KILN_ROOT")"
}

# monitor_pid NAME|ID: the monitor's pid, from the container's state.json.
monitor_pid() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Kiln"]["MonitorPid"])' \
    "$KILN_ROOT/containers/$(kiln inspect -f '{{.Id}}' "$1")/state.json"
}

# drive ARGS...: a terminal session driven by tty_drive.py.
drive() { "$BATS_TEST_DIRNAME/tty_drive.py" "$@"; }
