#!/usr/bin/env bats
# Containers at scale and what the store says about them: 100 detached containers
# at once (each its own monitor), 10 monitors killed; system df's Containers row;
# history's size of an empty layer.
load helpers
load containers
bats_require_minimum_version 1.5.0

# every_log_has N: each container many-1..N logged its own line.
every_log_has() {
  local i
  for i in $(seq 1 "$1"); do
    [ "$(kiln logs "many-$i" 2>&1)" = "hello $i" ] || return 1
  done
}

@test "100 detached containers at once: ps counts them, every log is there; 10 monitors killed show as exited (137) with the reason" {
  # Started by 4 parallel starters (the bounded loop a user's script would be).
  seq 1 100 | xargs -P 4 -I{} "$KILN" run -d --name many-{} busybox sh -c 'echo hello {}; exec sleep 1200' >/dev/null
  run kiln ps -q
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 100 ] || { echo "$output" | wc -l; false; }
  until_true 10 every_log_has 100
  mons=()
  inits=()
  for i in $(seq 1 10); do
    id=$(kiln inspect -f '{{.Id}}' "many-$i")
    mons+=("$(monitor_pid "$id")")
    inits+=("$(kiln inspect -f '{{.State.Pid}}' "many-$i")")
  done
  kill -9 "${mons[@]}"
  # ps shows the truth at once: the 90 running, the 10 exited.
  run kiln ps -q
  [ "${#lines[@]}" -eq 90 ] || { echo "$output"; false; }
  for i in $(seq 1 10); do
    run kiln inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' "many-$i"
    [ "$output" = "exited 137 the container's monitor died (pid ${mons[$((i - 1))]}); the container was killed with it" ] \
      || { echo "$output"; false; }
  done
  run kiln ps -a --filter status=exited --format '{{.Names}} {{.Status}}'
  [ "${#lines[@]}" -eq 10 ]
  [[ "${lines[0]}" =~ ^many-([1-9]|10)\ Exited\ \(137\) ]]
  # Their containers went with the monitors.
  until_true 5 sh -c "for p in ${inits[*]}; do kill -0 \$p 2>/dev/null && exit 1; done; exit 0"
  run kiln ps --filter status=running -q
  [ "${#lines[@]}" -eq 90 ]
  kiln rm -f $(kiln ps -aq) >/dev/null
  [ -z "$(kiln ps -aq)" ]
  [ -z "$(ls "$KILN_ROOT/containers")" ]
  run kiln system check
  [ "$status" -eq 0 ]
}

@test "system df has docker's Containers row: all, running, what they wrote, what the stopped ones wrote" {
  run kiln system df
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "TYPE            TOTAL     ACTIVE    SIZE       RECLAIMABLE" ]
  [[ "${lines[1]}" == Images* ]]
  [ "${lines[2]}" = "Containers      0         0         0B         0B" ]
  [[ "${lines[3]}" == "Local Volumes"* ]] && [[ "${lines[4]}" == "Build Cache"* ]]
  kiln run --name dfw busybox sh -c 'head -c 100000 /dev/zero > /big'
  kiln run -d --name dfr busybox sh -c 'head -c 300000 /dev/zero > /big; exec sleep 1201' >/dev/null
  until_true 5 sh -c "'$KILN' system df | grep -q '^Containers      2         1         400kB      100kB (25%)\$'" \
    || { kiln system df; false; }
  kiln rm -f dfw dfr >/dev/null
}

@test "history shows an empty layer and one of directories only as 0B, a file's layer as its bytes, as docker" {
  mkdir -p "$TMP/ctx"
  printf 'FROM busybox\nRUN true\nWORKDIR /x\nRUN echo hi > /a\n' > "$TMP/ctx/Dockerfile"
  kiln build -q -t hist0:1 "$TMP/ctx" >/dev/null
  run kiln history --format '{{.CreatedBy}}|{{.Size}}' hist0:1
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = 'RUN /bin/sh -c echo hi > /a # buildkit|3B' ] || { echo "$output"; false; }
  [ "${lines[1]}" = 'WORKDIR /x|0B' ]
  [ "${lines[2]}" = 'RUN /bin/sh -c true # buildkit|0B' ]
  kiln rmi hist0:1 >/dev/null
}

@test "an idle detached container's monitor keeps at most 1 MiB of private memory (RssAnon)" {
  if readelf -d "$KILN" | grep -q 'libasan'; then skip "a sanitizer build's monitor carries the sanitizer's memory"; fi
  # The bridge made by another container first: the monitor that makes it keeps
  # libnftables' contexts (net/nft.c), ~2.3 MiB, for its container's life.
  kiln run -d --name memhold busybox sleep 1203 >/dev/null
  for net in bridge none; do
    id=$(kiln run -d --network "$net" --name "memmon-$net" busybox sleep 1202)
    mon=$(monitor_pid "$id")
    sleep 0.5 # past the start
    anon=$(awk '/^Anonymous:/ {print $2}' "/proc/$mon/smaps_rollup")
    [ "$anon" -le 1024 ] || { echo "$net: RssAnon ${anon} kB"; grep -v ' 0 kB' "/proc/$mon/smaps_rollup"; false; }
    # libcrypto is not in it: sha256 is nettle's, libcrypto loaded only to use it.
    refute grep -q libcrypto "/proc/$mon/maps"
  done
  kiln rm -f memmon-bridge memmon-none memhold >/dev/null
}
