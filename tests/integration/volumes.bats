#!/usr/bin/env bats
# Volumes and mounts as a docker user meets them: named volumes that outlive
# their containers, copy-up from the image, anonymous volumes for VOLUME, binds,
# --mount, --tmpfs, read-only mounts, `kiln volume …`, inspect's Mounts, and a
# symlink in the image that must not lead a mount out of the container.
load helpers
load containers
bats_require_minimum_version 1.5.0

# py EXPR: EXPR over the JSON on stdin (as `d`).
py() {
  python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

@test "a named volume is made on first use, keeps its data after rm and is seen by a second container" {
  run kiln run --name w1 -v vdata:/data busybox sh -c 'echo kept > /data/f'
  [ "$status" -eq 0 ]
  kiln rm w1
  [ -f "$KILN_ROOT/volumes/vdata/_data/f" ]
  run kiln run --rm -v vdata:/other busybox cat /other/f
  [ "$status" -eq 0 ]
  [ "$output" = kept ]
  run kiln volume ls -q --filter name=vdata
  [ "$output" = vdata ]
}

@test "an empty volume over an image directory is filled from it once, owner and mode kept" {
  printf 'FROM busybox\nRUN mkdir -p /srv/app/sub && echo seed > /srv/app/sub/seed && ln -s sub/seed /srv/app/link && chown -R 1000:2000 /srv/app && chmod 0750 /srv/app\n' > "$CTX/Dockerfile"
  kiln build -q -t t/copyup "$CTX" >/dev/null
  run kiln run --name cu1 -v cu:/srv/app t/copyup sh -c 'cat /srv/app/link; stat -c "%u:%g %a" /srv/app /srv/app/sub/seed; rm -r /srv/app/link /srv/app/sub'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = seed ]
  [ "${lines[1]}" = "1000:2000 750" ]
  [ "${lines[2]}" = "1000:2000 644" ]
  # Once per container: its second start finds the volume as it was left.
  run kiln start -a cu1
  [ "$status" -ne 0 ]
  [[ "$output" == *"can't open '/srv/app/link'"* ]]
  # A volume that has data is never filled; nocopy keeps a new one empty.
  kiln run --rm -v cu:/srv/app busybox sh -c 'echo mine > /srv/app/mine'
  run kiln run --rm -v cu:/srv/app t/copyup ls /srv/app
  [ "$output" = mine ]
  run kiln run --rm -v cu2:/srv/app:nocopy t/copyup ls -A /srv/app
  [ "$status" -eq 0 ] && [ -z "$output" ]
  run kiln run --rm --mount type=volume,src=cu3,dst=/srv/app,volume-nocopy t/copyup ls -A /srv/app
  [ "$status" -eq 0 ] && [ -z "$output" ]
  kiln rm cu1
}

@test "an image's VOLUME gets an anonymous volume: rm -v and --rm remove it, rm keeps it" {
  printf 'FROM busybox\nRUN mkdir /cache && echo img > /cache/x\nVOLUME /cache\n' > "$CTX/Dockerfile"
  kiln build -q -t t/anon "$CTX" >/dev/null
  kiln run --name an1 t/anon sh -c 'cat /cache/x; echo new > /cache/y'
  name=$(kiln inspect -f '{{range .Mounts}}{{.Name}}{{end}}' an1)
  [[ "$name" =~ ^[0-9a-f]{64}$ ]]
  [ "$(cat "$KILN_ROOT/volumes/$name/_data/x")" = img ]
  run kiln volume inspect -f '{{json .Labels}}' "$name"
  [ "$output" = '{"com.docker.volume.anonymous":""}' ]
  kiln rm -v an1
  run --separate-stderr kiln volume inspect "$name"
  [ "$status" -eq 1 ]
  [ "$output" = "[]" ]
  [ "$stderr" = "Error: No such volume: $name" ]
  kiln run --name an2 t/anon true
  name=$(kiln inspect -f '{{range .Mounts}}{{.Name}}{{end}}' an2)
  kiln rm an2
  kiln volume inspect "$name" >/dev/null
  kiln volume rm "$name"
  before=$(kiln volume ls -q | wc -l)
  kiln run --rm t/anon true
  id=$(kiln run -d --rm t/anon true)
  kiln wait "$id" >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do [ "$(kiln volume ls -q | wc -l)" -eq "$before" ] && break; sleep 0.1; done
  [ "$(kiln volume ls -q | wc -l)" -eq "$before" ]
}

@test "ro volumes and binds refuse writes; a bind shows the host's files; --read-only -v /tmp:/tmp works" {
  mkdir -p "$TMP/host"
  echo fromhost > "$TMP/host/h"
  run kiln run --rm -v "$TMP/host:/h:ro" busybox sh -c 'cat /h/h; echo x > /h/new'
  [ "$status" -ne 0 ]
  [ "${lines[0]}" = fromhost ]
  [[ "$output" == *"Read-only file system"* ]]
  [ ! -e "$TMP/host/new" ]
  run kiln run --rm -v roval:/v:ro busybox sh -c 'touch /v/x'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  run kiln run --rm --mount "type=bind,source=$TMP/host,target=/m,readonly" busybox touch /m/x
  [ "$status" -ne 0 ]
  # A seed's flow: the root read-only, a writable /tmp from the host.
  run kiln run --rm --read-only -v "$TMP/host:/tmp" busybox sh -c 'echo w > /tmp/w && cat /tmp/w; touch /etc/x'
  [ "${lines[0]}" = w ]
  [[ "$output" == *"Read-only file system"* ]]
  [ "$(cat "$TMP/host/w")" = w ]
}

@test "--tmpfs and --mount type=tmpfs are empty tmpfs mounts with docker's options" {
  run kiln run --rm --tmpfs /scratch:size=1m,mode=1770 busybox sh -c 'ls -A /scratch | wc -l; grep " /scratch " /proc/mounts; stat -c %a /scratch'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 0 ]
  [[ "${lines[1]}" == "tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,"*"size=1024k,mode=1770"* ]]
  [ "${lines[2]}" = 1770 ]
  run kiln run --rm --mount type=tmpfs,target=/t,tmpfs-size=2m busybox sh -c 'grep " /t " /proc/mounts'
  [[ "$output" == "tmpfs /t tmpfs rw,nosuid,nodev,noexec,"*"size=2048k"* ]]
  run kiln run --rm --tmpfs /t:nosuch busybox true
  [ "$status" -eq 125 ]
  [ "$output" = 'kiln: Invalid tmpfs option ["nosuch"]' ]
}

@test "bad -v and --mount get docker's messages and change nothing" {
  before=$(kiln volume ls -q | wc -l)
  run kiln run --rm -v 'a/b:/x' busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == 'kiln: create a/b: "a/b" includes invalid characters for a local volume name'* ]]
  run kiln run --rm -v 'okname:rel' busybox true
  [ "$status" -eq 125 ]
  [ "$output" = "kiln: invalid volume specification: 'okname:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute" ]
  run kiln run --rm -v 'okname:/..' busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"destination can't be '/'" ]]
  run kiln run --rm --mount type=bind,target=/m,volume-nocopy busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"cannot mix 'volume-*' options with mount type 'bind'"* ]]
  run kiln run --rm --mount "type=bind,source=$TMP/none,target=/m" busybox true
  [ "$status" -eq 125 ]
  [ "$output" = "kiln: invalid mount config for type \"bind\": bind source path does not exist: $TMP/none" ]
  run kiln run --rm -v okname:/d -v other1:/d busybox true
  [ "$status" -eq 125 ]
  [ "$output" = "kiln: Duplicate mount point: /d" ]
  [ "$(kiln volume ls -q | wc -l)" -eq "$before" ]
}

@test "a symlink in the image cannot lead a mount to the host's /etc" {
  printf 'FROM busybox\nRUN ln -s /etc /data && ln -s ../../../../../etc /up\n' > "$CTX/Dockerfile"
  kiln build -q -t t/sym "$CTX" >/dev/null
  mkdir -p "$TMP/bindsrc"
  run kiln run --rm -v "$TMP/bindsrc:/data" t/sym sh -c 'echo in > /data/marker-kiln-vol; cat /etc/marker-kiln-vol'
  [ "$status" -eq 0 ]
  [ "$output" = in ]
  [ -f "$TMP/bindsrc/marker-kiln-vol" ]
  [ ! -e /etc/marker-kiln-vol ]
  run kiln run --rm -v symv:/up/sub t/sym sh -c 'echo v > /etc/sub/f'
  [ "$status" -eq 0 ]
  [ ! -e /etc/sub ]
  [ "$(cat "$KILN_ROOT/volumes/symv/_data/f")" = v ]
  run kiln run --rm --tmpfs /up/tm t/sym sh -c 'grep " /etc/tm " /proc/mounts'
  [ "$status" -eq 0 ]
  [ ! -e /etc/tm ]
}

@test "volume rm refuses a volume in use with docker's message; prune keeps volumes in use" {
  id=$(kiln create --name user1 -v busy:/b busybox true)
  run kiln volume rm busy
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: remove busy: volume is in use - [$id]" ]
  kiln volume create --label team=a loose
  kiln volume create spare
  # docker 23+: prune removes anonymous volumes only; -a every unused one.
  run kiln volume prune -f
  [ "$status" -eq 0 ]
  [[ "$output" != *loose* ]]
  kiln volume inspect loose >/dev/null
  run kiln volume ls --filter dangling=false --format '{{.Name}}'
  [[ "$output" == *busy* ]] && [[ "$output" != *loose* ]]
  run kiln volume ls --filter label=team=a -q
  [ "$output" = loose ]
  run kiln volume prune -af
  [ "$status" -eq 0 ]
  [[ "$output" == "Deleted Volumes:"* ]]
  [[ "$output" == *loose* ]] && [[ "$output" == *spare* ]] && [[ "$output" != *busy* ]]
  [[ "$output" == *"Total reclaimed space: "* ]]
  kiln volume inspect busy >/dev/null
  kiln rm user1
  run kiln volume rm busy
  [ "$status" -eq 0 ] && [ "$output" = busy ]
  run kiln volume rm busy
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: get busy: no such volume" ]
  run kiln volume rm -f busy
  [ "$status" -eq 0 ]
}

@test "volume ls and inspect have docker's shapes; inspect finds volumes; system df counts them" {
  kiln volume create shp-vol >/dev/null
  run kiln volume ls
  [ "${lines[0]}" = "$(head -1 "$CONF/docker-shapes/volume-ls.txt")" ]
  [[ "$output" == *"local     shp-vol"* ]]
  kiln volume inspect shp-vol > "$TMP/mine.json"
  python3 - "$TMP/mine.json" "$CONF/docker-shapes/volume-inspect.json" "$KILN_ROOT" <<'PY'
import json, sys
mine, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [list(o) for o in mine] == [list(o) for o in want], (mine, want)
m, w = mine[0], want[0]
assert m["Mountpoint"] == sys.argv[3] + "/volumes/shp-vol/_data"
for k in ("Driver", "Labels", "Name", "Options", "Scope"):
    assert m[k] == w[k], k
import re
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["CreatedAt"]), m["CreatedAt"]
PY
  run kiln inspect --type volume -f '{{.Name}} {{.Driver}}' shp-vol
  [ "$output" = "shp-vol local" ]
  run kiln inspect -f '{{.Scope}}' shp-vol
  [ "$output" = local ]
  run kiln volume ls --format 'table {{.Name}}\t{{.Mountpoint}}' --filter name=shp
  [ "${lines[0]}" = "VOLUME NAME   MOUNTPOINT" ]
  run kiln volume ls --format '{{json .}}' --filter name=^shp-vol$
  [ "$output" = "{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"\",\"Links\":\"N/A\",\"Mountpoint\":\"$KILN_ROOT/volumes/shp-vol/_data\",\"Name\":\"shp-vol\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}" ]
  run kiln volume ls --filter bogus=1
  [ "$status" -eq 1 ]
  run kiln system df
  [[ "$output" == *"Local Volumes   "* ]]
}

@test "container inspect shows Mounts, Binds, Mounts and Tmpfs in docker's shape" {
  kiln create --name insp -v shp-vol:/data -v /tmp:/hosttmp:ro --mount type=tmpfs,target=/mt --tmpfs /tt:size=1m busybox true >/dev/null
  kiln inspect insp > "$TMP/c.json"
  python3 - "$TMP/c.json" "$CONF/docker-shapes/container-running-healthy.json" "$KILN_ROOT" <<'PY'
import json, sys
c, d = json.load(open(sys.argv[1]))[0], json.load(open(sys.argv[2]))[0]
root = sys.argv[3]
# docker's two mounts, in docker's key order, then kiln's tmpfs.
want = d["Mounts"]
want[0]["Source"] = root + "/volumes/shp-vol/_data"
assert c["Mounts"][:2] == want, c["Mounts"]
assert [list(m) for m in c["Mounts"][:2]] == [list(m) for m in want]
assert c["Mounts"][2] == {"Type": "tmpfs", "Source": "", "Destination": "/mt", "Mode": "", "RW": True, "Propagation": ""}, c["Mounts"][2]
assert c["HostConfig"]["Binds"] == d["HostConfig"]["Binds"], c["HostConfig"]["Binds"]
assert c["HostConfig"]["Mounts"] == [{"Type": "tmpfs", "Source": "", "Target": "/mt"}], c["HostConfig"]["Mounts"]
assert c["HostConfig"]["Tmpfs"] == {"/tt": "size=1m"}
PY
  kiln rm insp
}

@test "volume ls sorts names as docker (digits as numbers); system check finds and repairs volume leftovers" {
  kiln volume create sort10 >/dev/null
  kiln volume create sort9 >/dev/null
  run kiln volume ls -q --filter name=^sort
  [ "${lines[0]}" = sort9 ] && [ "${lines[1]}" = sort10 ]
  kiln volume rm sort9 sort10
  mkdir -p "$KILN_ROOT/volumes/stray/_data"
  kiln volume create lost >/dev/null
  rm -r "$KILN_ROOT/volumes/lost"
  run kiln system check
  [ "$status" -eq 1 ]
  [[ "$output" == *"leftover: volumes/stray: a volume directory without a record"* ]]
  [[ "$output" == *"leftover: volume lost: a record without its directory"* ]]
  run kiln system check --repair
  [ "$status" -eq 0 ]
  [ ! -e "$KILN_ROOT/volumes/stray" ]
  [ -d "$KILN_ROOT/volumes/lost/_data" ]
  run kiln system check
  [ "$status" -eq 0 ]
  [ "$output" = "the store is clean" ]
  run kiln volume inspect -f '{{json .Labels}} {{json .Options}}' lost
  [ "$output" = "{} {}" ]
  kiln run --rm -v implicit:/x busybox true
  run kiln volume inspect -f '{{json .Labels}} {{json .Options}}' implicit
  [ "$output" = "null null" ]
}

@test "--mount volume-subpath mounts a directory of the volume, and a link a container left there cannot lead out" {
  kiln run --rm -v subv:/v busybox sh -c 'mkdir -p /v/a/b && echo deep > /v/a/b/f && ln -s /etc /v/esc && ln -s ../../.. /v/up'
  run kiln run --rm --mount type=volume,src=subv,dst=/s,volume-subpath=a busybox cat /s/b/f
  [ "$status" -eq 0 ] && [ "$output" = deep ]
  run kiln run --rm --mount type=volume,src=subv,dst=/s,volume-subpath=../x busybox true
  [ "$status" -eq 125 ]
  [ "$output" = 'kiln: invalid mount config for type "volume": subpath must be a relative path within the volume' ]
  run kiln run --rm --mount type=volume,src=subv,dst=/s,volume-subpath=esc busybox ls /s
  [ "$status" -eq 125 ]
  [[ "$output" == *'"esc": not found in volume subv'* ]]
  run kiln run --rm --mount type=volume,src=subv,dst=/s,volume-subpath=up busybox ls /s
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'a\nesc\nup')" ]
  run kiln run --rm --mount type=volume,src=labv,dst=/s,volume-label=team=x busybox true
  run kiln volume inspect -f '{{json .Labels}}' labv
  [ "$output" = '{"team":"x"}' ]
}
