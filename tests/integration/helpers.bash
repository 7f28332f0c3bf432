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
