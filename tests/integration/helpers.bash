# Shared setup for the bats tests: the kiln binary under test and a scratch dir.
KILN=${KILN:-$BATS_TEST_DIRNAME/../../build/kiln}
CONF=${KILN_CONFORMANCE:-$BATS_TEST_DIRNAME/../../../shared/conformance}

kiln() { "$KILN" "$@"; }

setup() {
  TMP=$(mktemp -d)
  CTX=$TMP/ctx
  mkdir -p "$CTX"
}

teardown() {
  rm -rf "$TMP"
}

# `! cmd` never fails a bats test (set -e ignores negated commands); this does.
refute() {
  if "$@"; then
    echo "unexpectedly succeeded: $*" >&2
    return 1
  fi
}

# until_true SECONDS CMD...: retries CMD every 0.1 s for at most SECONDS.
until_true() {
  local n=$(($1 * 10))
  shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
  "$@"
}
