#!/usr/bin/env bats
# Flags of `kiln COMMAND --help` that a user would reach for and that no other bats file
# ran end to end: what the user sees of each.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  local ids
  ids=$("$KILN" ps -aq --no-trunc 2>/dev/null) || true
  [ -z "$ids" ] || "$KILN" rm -f $ids >/dev/null 2>&1 || true
  rm -rf "$(dirname "$KILN_ROOT")"
}

@test "run --stop-signal: stop sends that signal first, inspect shows it" {
  kiln run -d --name sigctr --stop-signal USR1 busybox \
    sh -c 'trap "echo got usr1; exit 3" USR1; echo ready; while :; do sleep 0.1; done'
  until_true 5 sh -c "'$KILN' logs sigctr | grep -qx ready"
  run kiln inspect -f '{{.Config.StopSignal}}' sigctr
  [ "$status" -eq 0 ]
  [ "$output" = USR1 ]
  run kiln stop -t 5 sigctr
  [ "$status" -eq 0 ]
  [ "$output" = sigctr ]
  run kiln logs sigctr
  [[ "$output" == *"got usr1"* ]]
  run kiln inspect -f '{{.State.ExitCode}}' sigctr
  [ "$output" = 3 ]
  kiln rm sigctr
}

@test "run --dns-search and --dns-option reach the container's resolv.conf" {
  [ "$(id -u)" -eq 0 ] || skip "kiln's bridge needs root"
  run kiln run --rm --dns 192.0.2.53 --dns-search example.com --dns-search corp.test \
    --dns-option ndots:2 busybox cat /etc/resolv.conf
  [ "$status" -eq 0 ]
  [[ "$output" == *"nameserver 192.0.2.53"* ]]
  grep -qx 'search example.com corp.test' <<<"$output"
  grep -qx 'options ndots:2' <<<"$output"
}

@test "import --platform records OS, architecture and variant in the config" {
  mkdir -p "$TMP/rootfs/bin"
  echo hi > "$TMP/rootfs/bin/f"
  run kiln import --platform linux/arm64/v8 -m 'from a dir' "$TMP/rootfs" imp:arm
  [ "$status" -eq 0 ]
  [[ "$output" == sha256:* ]]
  run kiln inspect -f '{{.Os}} {{.Architecture}} {{.Variant}}' imp:arm
  [ "$output" = "linux arm64 v8" ]
  run kiln history --format '{{.Comment}}' imp:arm
  [ "$output" = "from a dir" ]
}

@test "debug expand --words splits the expansion as a shell would; --escape changes the escape" {
  run kiln debug expand -e 'A=x y' --words 'a $A "b $A"'
  [ "$status" -eq 0 ]
  [ "$output" = $'a\nx\ny\nb x y' ]
  run kiln debug expand -e 'A=x y' 'a $A "b $A"'
  [ "$output" = 'a x y b x y' ]
  run kiln debug expand --escape '`' 'a`$b'
  [ "$output" = 'a$b' ]
}
