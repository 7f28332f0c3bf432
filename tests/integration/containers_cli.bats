#!/usr/bin/env bats
# The container commands that read and copy, as a docker user meets them: ps with its
# filters, --format and -s; diff; rename; cp; export; commit; logs' time windows.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  # the containers ps looks at: one running, one that exited 3, one created
  "$KILN" run -d --name up1 --label tier=front --label team=a busybox sleep 600 >/dev/null
  "$KILN" run --name ex3 --label tier=back busybox sh -c 'echo hello > /f; exit 3' >/dev/null 2>&1 || true
  "$KILN" create --name new1 busybox true >/dev/null
}

teardown_file() {
  local ids
  ids=$("$KILN" ps -aq --no-trunc 2>/dev/null) || true
  [ -z "$ids" ] || "$KILN" rm -f $ids >/dev/null 2>&1 || true
  rm -rf "$(dirname "$KILN_ROOT")"
}

names() { kiln ps "$@" --format '{{.Names}}' | sort | tr '\n' ' '; }

@test "ps --filter: docker's keys, AND across keys, OR within one" {
  [ "$(names)" = "up1 " ]
  [ "$(names -a)" = "ex3 new1 up1 " ]
  # a status filter looks at every container, as -a does
  [ "$(names --filter status=exited)" = "ex3 " ]
  [ "$(names --filter status=exited --filter status=created)" = "ex3 new1 " ]
  [ "$(names -a --filter label=tier)" = "ex3 up1 " ]
  [ "$(names -a --filter label=tier=front)" = "up1 " ]
  [ "$(names -a --filter label=tier --filter status=exited)" = "ex3 " ]
  [ "$(names -a --filter name=1)" = "new1 up1 " ]
  [ "$(names -a --filter name=^up)" = "up1 " ]
  [ "$(names -a --filter exited=3)" = "ex3 " ]
  [ "$(names -a --filter exited=0)" = "" ]
  [ "$(names -a --filter health=none)" = "ex3 new1 up1 " ]
  [ "$(names -a --filter ancestor=busybox)" = "ex3 new1 up1 " ]
  [ "$(names -a --filter ancestor=nosuch)" = "" ]
  [ "$(names -a --filter since=ex3)" = "new1 " ]
  [ "$(names -a --filter before=ex3)" = "up1 " ]
  id=$(kiln ps -aq --no-trunc --filter name=ex3)
  [ "$(names -a --filter id=${id:0:8})" = "ex3 " ]
}

@test "ps --filter: bad filters get docker's messages and list nothing" {
  run kiln ps --filter status=rubbish
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: invalid filter 'status=rubbish'" ]
  run kiln ps --filter colour=red
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: invalid filter 'colour'" ]
  run kiln ps --filter exited=x
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: invalid filter 'exited=x'" ]
  run kiln ps --filter status
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == *"bad format of filter (expected name=value)"* ]]
  run kiln ps --filter since=nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
}

@test "ps --format: table, json, templates with docker's fields, and -s" {
  run kiln ps -a --format 'table {{.Names}}\t{{.State}}\t{{.Label "tier"}}'
  [ "$status" -eq 0 ]
  # docker's header row runs the template over a map of titles: .Label is no method there,
  # and the header stops where it failed
  [ "${lines[0]}" = "NAMES     STATE     " ]
  [[ "$output" == *"ex3       exited    back"* ]]
  [[ "$output" == *"up1       running   front"* ]]
  run kiln ps --format '{{.Names}} {{.Labels}} {{.Command}} {{.LocalVolumes}}'
  [ "$output" = 'up1 team=a,tier=front "sleep 600" 0' ]
  # json: one object a line with docker's keys, Size computed because json shows it
  run kiln ps -a --filter name=ex3 --format json
  [ "$status" -eq 0 ]
  python3 - "$output" <<'PY'
import json, re, sys
o = json.loads(sys.argv[1])
assert sorted(o) == sorted(["Command", "CreatedAt", "HealthStatus", "ID", "Image", "Labels", "LocalVolumes",
    "Mounts", "Names", "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"]), sorted(o)
assert o["State"] == "exited" and re.fullmatch(r"Exited \(3\) .* ago", o["Status"]), o
assert re.fullmatch(r"6B \(virtual [0-9.]+[kM]?B\)", o["Size"]), o["Size"]
assert re.fullmatch(r"[0-9a-f]{12}", o["ID"]), o["ID"]
PY
  # -s: the SIZE column, docker's "written (virtual image+written)"
  run kiln ps -a -s --filter name=ex3
  [[ "${lines[0]}" == *"NAMES     SIZE" ]]
  [[ "${lines[1]}" =~ ex3\ +6B\ \(virtual\ [0-9.]+[kM]?B\)$ ]]
  run kiln ps -a --format '{{.Bogus}}'
  [ "$status" -eq 1 ]
  [[ "$output" == *"can't evaluate field Bogus in type *formatter.ContainerContext"* ]]
  run kiln ps -q --format '{{.Names}}'
  [[ "$output" =~ ^[0-9a-f]{12}$ ]]
  run kiln ps -a -n 1 --format '{{.Names}}'
  [ "$output" = new1 ]
}

@test "diff lists what the container added, changed and deleted" {
  kiln run --name df1 busybox sh -c 'rm /bin/ls; mkdir -p /root/x; echo hi > /root/x/f; echo >> /etc/passwd'
  run kiln diff df1
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nC /root\nA /root/x\nA /root/x/f')" ]
  run kiln diff nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  kiln rm df1
}

@test "rename: a new name; a name in use, the same name and bad names refused" {
  kiln create --name rn1 busybox true >/dev/null
  kiln rename rn1 rn2
  [ "$(names -a --filter name=^rn)" = "rn2 " ]
  run kiln rename rn2 up1
  [ "$status" -eq 1 ]
  [[ "$output" == 'Error: Conflict. The container name "/up1" is already in use by container "'*'". You have to remove (or rename) that container to be able to reuse that name.' ]]
  run kiln rename rn2 rn2
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Renaming a container with the same name as its current name" ]
  run kiln rename rn2 'b@d'
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Invalid container name (b@d), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" ]
  run kiln rename nosuch xy
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  [ "$(names -a --filter name=^rn)" = "rn2 " ]
  kiln rm rn2
}
