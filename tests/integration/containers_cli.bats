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

@test "cp out: files, directories, SRC/., into an existing directory, a tar on stdout, -L" {
  cd "$TMP"
  kiln run --name co1 busybox sh -c 'mkdir -p /d/sub; echo one > /d/sub/f; echo top > /d/t; ln -s /d/t /lnk'
  kiln cp co1:/d/t t1
  [ "$(cat t1)" = top ]
  kiln cp co1:/d newdir                       # a directory becomes DEST
  [ "$(cat newdir/sub/f)" = one ]
  mkdir have
  kiln cp co1:/d have                         # lands under its own name
  [ "$(cat have/d/t)" = top ]
  mkdir have2
  kiln cp co1:/d/. have2                      # its contents
  [ "$(cat have2/t)" = top ] && [ ! -e have2/d ]
  kiln cp co1:/lnk l1                         # a symlink is copied as a link
  [ "$(readlink l1)" = /d/t ]
  kiln cp -L co1:/lnk l2                      # -L: what it points to, in the container
  [ "$(cat l2)" = top ] && [ ! -L l2 ]
  kiln cp co1:/d - > d.tar
  [ "$(tar -tf d.tar | sort | tr '\n' ' ')" = "d/ d/sub/ d/sub/f d/t " ]
  run kiln cp co1:/nosuch x
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Could not find the file /nosuch in container co1" ]
  run kiln cp co1:/d t1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: cannot copy directory" ]
  run kiln cp co1:/d/t/ x
  [ "$status" -eq 1 ]
  [ "$output" = "Error: not a directory" ]
  run kiln cp nosuch:/x y
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  run kiln cp a b
  [ "$status" -eq 1 ]
  [ "$output" = "Error: must specify at least one container source" ]
  kiln rm co1
}

@test "cp in: a file, a directory, SRC/., a tar on stdin; owners are root unless -a" {
  cd "$TMP"
  kiln run -d --name ci1 busybox sleep 600 >/dev/null
  echo hello > f
  mkdir d && echo in > d/a && chown 1234:1234 d/a
  kiln cp f ci1:/tmp/
  kiln cp d ci1:/tmp
  kiln cp d ci1:/tmp/renamed
  kiln cp d/. ci1:/root
  kiln cp -a d ci1:/keep
  tar -C d -cf - a | kiln cp - ci1:/home    # a tar: its entries in DEST, owners root
  run kiln cp - ci1:/tmp/f < <(tar -C d -cf - a)
  [ "$status" -eq 1 ]
  [ "$output" = "Error: extraction point is not a directory" ]
  kiln cp ci1:/ - > all.tar                  # what is mounted in it (proc, sys) is not walked
  tar -tvf all.tar > list
  grep -Eq ' 0/0 +6 .* tmp/f$' list
  grep -Eq ' 0/0 +3 .* tmp/d/a$' list
  grep -Eq ' 0/0 +3 .* tmp/renamed/a$' list
  grep -Eq ' 0/0 +3 .* root/a$' list
  grep -Eq ' 1234/1234 +3 .* keep/a$' list
  grep -Eq ' 0/0 +3 .* home/a$' list
  run kiln cp f ci1:/nosuchdir/x
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Could not find the file /nosuchdir in container ci1" ]
  # overlay's own names cannot be smuggled in: a .wh. file would delete a path
  touch .wh.passwd
  run kiln cp .wh.passwd ci1:/etc/
  [ "$status" -eq 1 ]
  [[ "$output" == *".wh.passwd: a name overlayfs keeps for itself"* ]]
  kiln cp ci1:/etc/passwd - | tar -xO | grep -q ^root:
  kiln rm -f ci1 >/dev/null
  kiln create --name ro1 --read-only busybox true >/dev/null
  run kiln cp f ro1:/tmp/
  [ "$status" -eq 1 ]
  [ "$output" = "Error: container rootfs is marked read-only" ]
  kiln cp ro1:/etc/passwd - >/dev/null                     # reading is fine
  kiln rm ro1
}

@test "cp: a symlink the container swapped in cannot lead to the host, running or stopped" {
  cd "$TMP"
  kiln run -d --name sym1 busybox sh -c 'ln -s / /esc; ln -s ../../../../../../.. /up; ln -s /root /rootlink; sleep 600' >/dev/null
  until_true() { local n=$(($1 * 10)); shift; for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done; "$@"; }
  until_true 5 kiln cp sym1:/rootlink - >/dev/null 2>&1
  name=kiln-escape-$$-$RANDOM
  for state in running stopped; do
    # reading through the links reads the container's /etc/passwd, never the host's
    kiln cp sym1:/esc/etc/passwd p
    kiln cp sym1:/up/etc/passwd q
    [ "$(head -1 p)" = "root:x:0:0:root:/root:/bin/sh" ]
    cmp p q
    refute cmp -s p /etc/passwd
    # writing through them writes inside the container
    echo "$state" > m
    kiln cp m "sym1:/up/tmp/$name-$state"
    kiln cp m "sym1:/rootlink/$name-$state"
    [ ! -e "/tmp/$name-$state" ]
    [ ! -e "/root/$name-$state" ]
    [ "$(kiln cp "sym1:/tmp/$name-$state" - | tar -xO)" = "$state" ]
    [ "$(kiln cp "sym1:/root/$name-$state" - | tar -xO)" = "$state" ]
    kiln stop -t 0 sym1 >/dev/null
  done
  kiln rm sym1
}

@test "cp - : a hostile tar on stdin is refused with the reason, nothing written outside DEST" {
  cd "$TMP"
  kiln create --name ht1 busybox true >/dev/null
  # an entry climbing out of DEST, then more data than the pipe holds: kiln stops
  # reading at the bad entry and says so (it once died of SIGPIPE, exit 141, silently)
  python3 - <<'PY'
import io, tarfile
with tarfile.open("evil.tar", "w") as t:
    for name, size in (("../../../../escape-ht1", 10), ("big", 4 << 20)):
        i = tarfile.TarInfo(name)
        i.size = size
        t.addfile(i, io.BytesIO(b"x" * size))
PY
  run kiln cp - ht1:/tmp < evil.tar
  [ "$status" -eq 1 ]
  [[ "$output" == *'"../../../../escape-ht1" points outside'* ]]
  [ ! -e "$KILN_ROOT/escape-ht1" ] && [ ! -e /escape-ht1 ]
  run kiln cp ht1:/tmp/big -
  [ "$status" -eq 1 ]
  kiln rm ht1
}

@test "export: the container's filesystem as a tar, to stdout or -o, never to a terminal" {
  cd "$TMP"
  kiln run --name exp1 busybox sh -c 'echo mine > /mine; rm /bin/ls'
  # what a killed export left (its overlay's work dir) is swept by the next one
  id=$(kiln ps -aq --no-trunc --filter name=exp1)
  mkdir -p "$KILN_ROOT/containers/$id/cp-work.999999999/work"
  kiln export exp1 > e.tar
  [ -z "$(ls -d "$KILN_ROOT/containers/$id"/cp-work.* 2>/dev/null)" ]
  tar -tf e.tar > list
  grep -qx mine list
  grep -qx bin/sh list
  refute grep -qx bin/ls list
  [ "$(tar -xOf e.tar mine)" = mine ]
  kiln export -o e2.tar exp1
  cmp <(tar -tf e.tar) <(tar -tf e2.tar)
  run kiln export -o /dev/null exp1
  [ "$status" -ne 0 ]
  [ -c /dev/null ]
  # a running container: what is mounted in it (proc, sys, dev) is not walked
  kiln run -d --name exp2 busybox sleep 600 >/dev/null
  sleep 0.5
  kiln export exp2 > r.tar
  grep -qx proc/ <(tar -tf r.tar)
  refute grep -q '^proc/.' <(tar -tf r.tar)
  kiln rm -f exp1 exp2 >/dev/null
}

@test "inspect: structs in docker's field order and maps sorted, in the default output, {{json}} and json" {
  # up1's labels were given tier, then team: a Go map prints them sorted.
  [ "$(kiln inspect -f '{{json .Config.Labels}}' up1)" = '{"team":"a","tier":"front"}' ]
  [ "$(kiln inspect up1 | python3 -c 'import json,sys; print(list(json.load(sys.stdin)[0]["Config"]["Labels"]))')" = "['team', 'tier']" ]
  # container inspect is inspect --type container: the same document, and -f.
  [ "$(kiln container inspect up1)" = "$(kiln inspect up1)" ]
  [ "$(kiln container inspect -f '{{json .Config.Labels}}' up1)" = '{"team":"a","tier":"front"}' ]
  # A struct keeps docker's declaration order.
  [ "$(kiln inspect -f '{{json .HostConfig.RestartPolicy}}' up1)" = '{"Name":"no","MaximumRetryCount":0}' ]
  keys() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d=d[0] if isinstance(d, list) else d; print([k for k in d["State"] if k != "Health"])'; }
  [ "$(kiln inspect -f '{{json .}}' up1 | keys)" = "$(keys <"$CONF/docker-shapes/container-running-healthy.json")" ]
  [ "$(kiln inspect -f json up1 | keys)" = "$(keys <"$CONF/docker-shapes/container-running-healthy.json")" ]
}

@test "commit: the container's changes become a layer on its image, its config the image's" {
  kiln run --name cm1 -e FOO=bar busybox sh -c 'echo data > /data; rm /bin/ls'
  run kiln commit -m "my message" -a "A. Author" -c 'CMD ["cat","/data"]' -c 'LABEL stage=two' cm1 committed:v1
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  [ "$(kiln run --rm committed:v1)" = data ]
  run kiln run --rm committed:v1 sh -c 'ls /bin/ls 2>&1; echo $FOO'
  [ "${lines[0]}" = "ls: /bin/ls: No such file or directory" ]   # the deletion is a whiteout in the layer
  [ "${lines[1]}" = bar ]                                          # the container's Env is the image's
  [ "$(kiln inspect -f '{{.Author}} {{.Comment}} {{index .Config.Labels "stage"}}' committed:v1)" = "A. Author my message two" ]
  run kiln history committed:v1
  [[ "${lines[1]}" == *"sh -c 'echo data > /data; rm /bin/ls'"*"my message" ]]
  # the new layer holds the changes, not the sandbox's mount points (docker's init layer)
  kiln save -o "$TMP/c.tar" committed:v1
  mkdir "$TMP/c" && tar -C "$TMP/c" -xf "$TMP/c.tar"
  last=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][-1])' "$TMP/c/manifest.json")
  tar -tf "$TMP/c/$last" > "$TMP/layer"
  grep -qx data "$TMP/layer"
  grep -qx bin/.wh.ls "$TMP/layer"
  refute grep -q -e '^etc/hosts$' -e '^etc/resolv.conf$' "$TMP/layer"
  run kiln commit -c 'RUN true' cm1
  [ "$status" -ne 0 ]
  [[ "$output" == *'--change "RUN true": RUN cannot be used with commit'* ]]
  run kiln commit nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  kiln rm cm1
  kiln rmi committed:v1 >/dev/null
}

@test "logs --since/--until take docker's times; --details puts the attributes first" {
  kiln run --name lg1 busybox sh -c 'echo one; echo err >&2'
  id=$(kiln ps -aq --no-trunc --filter name=lg1)
  log=$KILN_ROOT/containers/$id/$id-json.log
  # the entries get known times: one a minute ago, err now
  python3 - "$log" <<'PY'
import json, sys, time
lines = [json.loads(l) for l in open(sys.argv[1])]
now = time.time()
for e in lines:
    t = now - 60 if e["log"] == "one\n" else now
    e["time"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % int((t % 1) * 1e9)
open(sys.argv[1], "w").write("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines))
PY
  [ "$(kiln logs --since 30s lg1 2>&1)" = err ]
  [ "$(kiln logs --since 2m lg1 2>&1 | sort | tr '\n' ' ')" = "err one " ]
  [ "$(kiln logs --until 30s lg1 2>&1)" = one ]
  [ "$(kiln logs --since "$(date -u -d '-30 seconds' +%Y-%m-%dT%H:%M:%SZ)" lg1 2>&1)" = err ]
  [ "$(kiln logs --until "$(date -u -d '-30 seconds' +%s)" lg1 2>&1)" = one ]
  [ "$(kiln logs --since 1m30s --until 30s lg1 2>&1)" = one ]
  run kiln logs --since yesterday lg1
  [ "$status" -eq 1 ]
  [ "$output" = 'Error: invalid value for "since": failed to parse value as time or duration: "yesterday"' ]
  # --details: no attributes, so a lone space before each line (docker's)
  [ "$(kiln logs --details --until 30s lg1)" = " one" ]
  kiln rm lg1
}

@test "--log-opt max-size/max-file rotate the json-file log with docker's names; logs reads across them" {
  kiln run --name rot1 --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done'
  id=$(kiln ps -aq --no-trunc --filter name=rot1)
  d=$KILN_ROOT/containers/$id
  [ -f "$d/$id-json.log" ] && [ -f "$d/$id-json.log.1" ] && [ -f "$d/$id-json.log.2" ]
  [ ! -e "$d/$id-json.log.3" ]
  for f in "$d/$id-json.log"*; do [ "$(stat -c %s "$f")" -le 1024 ]; done
  # what is kept, in order, without a gap: the newest lines
  run kiln logs rot1
  first=${lines[0]#line}
  [ "${lines[-1]}" = line99 ]
  [ "${#lines[@]}" -eq $((100 - first)) ]
  for i in "${!lines[@]}"; do [ "${lines[$i]}" = "line$((first + i))" ]; done
  [ "$(kiln logs --tail 2 rot1 | tr '\n' ' ')" = "line98 line99 " ]
  [ "$(kiln inspect -f '{{index .HostConfig.LogConfig.Config "max-size"}} {{.HostConfig.LogConfig.Type}}' rot1)" = "1k json-file" ]
  # max-file=1: the log is emptied when full, never renamed
  kiln run --name rot2 --log-opt max-size=1k busybox sh -c 'i=0; while [ $i -lt 100 ]; do echo line$i; i=$((i+1)); done'
  id2=$(kiln ps -aq --no-trunc --filter name=rot2)
  [ ! -e "$KILN_ROOT/containers/$id2/$id2-json.log.1" ]
  [ "$(kiln logs rot2 | tail -1)" = line99 ]
  kiln rm rot1 rot2
}

@test "logs -f follows the log through its rotations" {
  kiln run -d --name rot3 --log-opt max-size=2k --log-opt max-file=50 busybox \
    sh -c 'sleep 0.5; i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); [ $((i % 20)) -eq 0 ] && sleep 0.05; done' >/dev/null
  run timeout 30 "$KILN" logs -f rot3
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 300 ]
  for i in "${!lines[@]}"; do [ "${lines[$i]}" = "line$i" ]; done
  id=$(kiln ps -aq --no-trunc --filter name=rot3)
  [ -e "$KILN_ROOT/containers/$id/$id-json.log.3" ]
  kiln rm rot3
}

@test "logs -f follows a log that max-file=1 truncates in place" {
  kiln run -d --name rot1 --log-opt max-size=2k --log-opt max-file=1 busybox \
    sh -c 'sleep 0.5; i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); sleep 0.01; done' >/dev/null
  run timeout 30 "$KILN" logs -f rot1
  [ "$status" -eq 0 ]
  # whole entries, in order, to the last one (a follower left past the end saw none of it)
  [ "${lines[-1]}" = line199 ]
  prev=-1
  for l in "${lines[@]}"; do
    [[ "$l" =~ ^line([0-9]+)$ ]]
    [ "${BASH_REMATCH[1]}" -gt "$prev" ]
    prev=${BASH_REMATCH[1]}
  done
  kiln rm rot1
}

@test "--log-opt: bad options get docker's messages and make no container" {
  before=$(kiln ps -aq | wc -l)
  run kiln run --log-opt max-file=0 busybox true
  [ "$output" = "kiln: max-file cannot be less than 1" ]
  run kiln run --log-opt colour=red busybox true
  [ "$output" = "kiln: unknown log opt 'colour' for json-file log driver" ]
  run kiln run --log-opt max-size=1x busybox true
  [ "$output" = "kiln: invalid size: '1x'" ]
  run kiln create --log-opt max-size busybox true
  [ "$output" = "kiln: invalid log opt 'max-size': expected key=value" ]
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
}

@test "cp reaches a container's volumes and binds, running or stopped; a read-only bind refuses" {
  cd "$TMP"
  mkdir host && echo fromhost > host/h
  kiln run -d --name cv1 -v cpvol:/data -v "$TMP/host:/hostro:ro" busybox sleep 600 >/dev/null
  echo one > one
  kiln cp one cv1:/data/
  [ "$(kiln cp cv1:/hostro/h - | tar -xO)" = fromhost ]
  kiln stop -t 0 cv1 >/dev/null
  echo two > two
  kiln cp two cv1:/data/                     # into the volume, not under it in the upper
  [ "$(kiln cp cv1:/data/one - | tar -xO)" = one ]
  [ "$(kiln cp cv1:/hostro/h - | tar -xO)" = fromhost ]
  run kiln cp two cv1:/hostro/
  [ "$status" -ne 0 ]
  [ ! -e host/two ]
  kiln start cv1 >/dev/null
  [ "$(kiln cp cv1:/data/two - | tar -xO)" = two ]
  kiln rm -f -v cv1 >/dev/null
}

@test "container, volume and network prune --filter: until=, label=, label!= select as docker's" {
  kiln run --name pr-a --label prune=a busybox true
  kiln run --name pr-b --label prune=b busybox true
  id_a=$(kiln inspect -f '{{.Id}}' pr-a)
  run kiln container prune -f --filter label=prune=a
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Containers:" ]
  [ "${lines[1]}" = "$id_a" ]
  # Everything else stays: pr-b, and the file's own stopped containers.
  [ "$(names -a --filter name=pr-)" = "pr-b " ]
  run kiln container prune -f --filter until=1h --filter label=prune
  [ "$output" = "Total reclaimed space: 0B" ]
  [ "$(names -a --filter name=pr-)" = "pr-b " ]
  run kiln container prune -f --filter until=soon
  [ "$status" -eq 1 ]
  [[ "$output" == *'failed to parse value as time or duration: "soon"'* ]]
  run kiln container prune -f --filter color=red
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: Invalid filter 'color'" ]
  # until= a time to come selects what was made before it.
  id_b=$(kiln inspect -f '{{.Id}}' pr-b)
  run kiln container prune -f --filter until=2099-01-01T00:00:00Z --filter label=prune=b
  [ "${lines[1]}" = "$id_b" ]
  run kiln container prune -f --filter until=1h --filter until=2h
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: more than one until filter specified" ]
  # system prune takes the same filters: only the labelled container goes.
  kiln run --name pr-sys --label prune=sys busybox true
  id_s=$(kiln inspect -f '{{.Id}}' pr-sys)
  run kiln system prune -f --filter label=prune=sys
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Deleted Containers:" ]
  [ "${lines[1]}" = "$id_s" ]
  [[ "${lines[-1]}" == "Total reclaimed space: "* ]]
  [ -z "$(names -a --filter name=pr-sys)" ]
  [ -n "$(names -a --filter name=ex3)" ]
  # volume prune: labels, not until= (docker refuses it there too).
  kiln volume create --label keep=no pv-no >/dev/null
  kiln volume create --label keep=yes pv-yes >/dev/null
  run kiln volume prune -a -f --filter 'label!=keep=yes' --filter label=keep
  [ "${lines[0]}" = "Deleted Volumes:" ]
  [ "${lines[1]}" = "pv-no" ]
  [ "$(kiln volume ls -q --filter name=pv-)" = "pv-yes" ]
  run kiln volume prune -a -f --filter until=1h
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: Invalid filter 'until'" ]
  kiln volume rm pv-yes >/dev/null
  # network prune: until= and labels too.
  kiln network create --label p=a pn-a >/dev/null
  kiln network create --label p=b pn-b >/dev/null
  run kiln network prune -f --filter label=p=a
  [ "${lines[0]}" = "Deleted Networks:" ]
  [ "${lines[1]}" = "pn-a" ]
  [ "$(kiln network ls --format '{{.Name}}' --filter name=pn-)" = "pn-b" ]
  run kiln network prune -f --filter until=1h
  [ -z "$output" ]
  kiln network rm pn-b >/dev/null
}
