#!/usr/bin/env bats
# Container resources through cgroups, for real on this host's cgroup v1
# controllers (the v2 path is tested by tests/unit/test_cgroup.c on a fake
# cgroupfs tree): -m and OOMKilled, --pids-limit, --cpus, stats, top,
# pause/unpause, the cgroup's removal and system check, and run's other
# resource flags (--ulimit, --shm-size, --sysctl, --device, --group-add).
load helpers
load containers
bats_require_minimum_version 1.5.0

# containers.bash's teardown, plus a repair of what a failed test left in cgroups.
teardown_file() {
  remove_all_containers
  "$KILN" system check --repair >/dev/null 2>&1 || true
  rm -rf "$(dirname "$KILN_ROOT")"
}

# field NAME GO-TEMPLATE: inspect -f.
field() { kiln inspect -f "$2" "$1"; }

# log_lines NAME: how many lines its log holds.
log_lines() { kiln logs "$1" | wc -l; }
# log_grew NAME N: its log holds more than N lines.
log_grew() { [ "$(log_lines "$1")" -gt "$2" ]; }

# cgdir ID CONTROLLER: the container's cgroup directory, from its record.
cgdir() { awk -v c="$2" '$1 == c { print $2 }' "$KILN_ROOT/containers/$1/cgroup"; }

@test "-m 32m: a container allocating more is OOM-killed, inspect says OOMKilled, and its cgroup is gone" {
  run kiln run --name oom -m 32m busybox sh -c 'tail /dev/zero'
  [ "$status" -eq 137 ]
  [ "$(field oom '{{.State.OOMKilled}} {{.State.ExitCode}}')" = "true 137" ]
  [ "$(field oom '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}')" = "33554432 67108864" ]
  [ ! -e "$KILN_ROOT/containers/$(field oom '{{.Id}}')/cgroup" ]
  # The same command within its limit: no OOM, and a start resets the flag.
  run kiln run --name fine -m 32m busybox sh -c 'head -c 1000000 /dev/zero | tail -c 1 >/dev/null'
  [ "$status" -eq 0 ]
  [ "$(field fine '{{.State.OOMKilled}}')" = "false" ]
  kiln rm oom fine
}

@test "--pids-limit stops a fork bomb, bounded" {
  # 40 background sleeps: without the limit all of them start; with it the
  # kernel refuses the 9th fork (the init and the shell count) and the shell
  # gives up at once.
  local bomb='i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; echo all $i started'
  SECONDS=0
  run kiln run --rm --pids-limit 10 busybox sh -c "$bomb"
  [ "$status" -eq 2 ]
  [[ "$output" == *"can't fork: Resource temporarily unavailable"* ]]
  [[ "$output" != *"all 40 started"* ]]
  [ "$SECONDS" -lt 4 ]
  run kiln run --rm busybox sh -c "$bomb"
  [ "$output" = "all 40 started" ]
  run kiln create --name pl --pids-limit 10 busybox true
  [ "$(field pl '{{.HostConfig.PidsLimit}}')" = "10" ]
  [ "$(kiln create --name nopl busybox true >/dev/null && field nopl '{{json .HostConfig.PidsLimit}}')" = "null" ]
  kiln rm pl nopl
}

@test "--cpus and --cpu-shares are the container's cgroup files; it runs in its own cgroup" {
  id=$(kiln run -d --name cpus --cpus 0.5 -c 512 busybox sleep 100)
  cpu=$(cgdir "$id" cpu)
  [ "$(cat "$cpu/cpu.cfs_quota_us")" = 50000 ]
  [ "$(cat "$cpu/cpu.cfs_period_us")" = 100000 ]
  [ "$(cat "$cpu/cpu.shares")" = 512 ]
  [ "$(field cpus '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}}')" = "500000000 512" ]
  # Every process of the container is in it (the init and the command).
  [ "$(wc -l < "$(cgdir "$id" memory)/cgroup.procs")" -eq 2 ]
  # Docker's device rules hold in the container's own devices cgroup.
  grep -qx 'c 1:3 rwm' "$(cgdir "$id" devices)/devices.list"
  refute grep -q 'a \*:\* rwm' "$(cgdir "$id" devices)/devices.list"
  kiln rm -f cpus
  [ ! -d "$cpu" ]
}

@test "stats --no-stream shows docker's columns and the memory limit" {
  kiln run -d --name st -m 64m busybox sleep 100
  run kiln stats --no-stream st
  [ "$status" -eq 0 ]
  # docker's header (the shape's first line, spacing aside)
  [ "$(echo "${lines[0]}" | tr -s ' ')" = "$(head -1 "$CONF/docker-shapes/stats-no-stream.txt" | tr -s ' ')" ]
  [[ "${lines[1]}" == *" st "*" / 64MiB "* ]]
  [ "$(kiln stats --no-stream --format '{{.Name}} {{.PIDs}}' st)" = "st 2" ]
  run kiln stats --no-stream --format '{{.MemUsage}}' st
  [[ "$output" == *"iB / 64MiB" ]]
  # -a lists a stopped container with docker's zeros; without it, only running ones.
  kiln create --name st-stopped busybox true
  run kiln stats --no-stream -a --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}'
  [[ "$output" == *"st-stopped 0.00% 0B / 0B 0"* ]]
  run kiln stats --no-stream --format '{{.Name}}'
  [[ "$output" != *"st-stopped"* ]]
  run kiln stats --no-stream --no-trunc --format '{{.ID}}' st
  [ "${#output}" -eq 64 ]
  run kiln stats --no-stream nosuch
  [ "$status" -eq 1 ]
  [[ "$output" == *"No such container: nosuch"* ]]
  kiln rm -f st st-stopped
}

@test "top lists the container's processes in docker's shape" {
  id=$(kiln run -d --name tp busybox sleep 1000)
  run kiln top tp
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(head -1 "$CONF/docker-shapes/top.txt")" ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[2]}" == *" sleep 1000" ]]
  # Its PID column holds the container's pids, and only those.
  pids=$(sort -n "$(cgdir "$id" memory)/cgroup.procs" | tr '\n' ' ')
  [ "$(kiln top tp -o pid | tail -n +2 | sort -n | tr -d ' ' | tr '\n' ' ')" = "$pids" ]
  kiln stop -t 1 tp
  run kiln top tp
  [ "$status" -eq 1 ]
  [[ "$output" == *"Container $id is not running"* ]]
  kiln rm tp
}

@test "pause stops a counter writing to its log, unpause resumes it; ps and inspect say paused" {
  kiln run -d --name pz busybox sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done'
  until_true 5 log_grew pz 2
  [ "$(kiln pause pz)" = pz ]
  [ "$(field pz '{{.State.Status}} {{.State.Paused}} {{.State.Running}}')" = "paused true true" ]
  [[ "$(kiln ps --filter name=pz 2>/dev/null || kiln ps)" == *"(Paused)"* ]]
  n1=$(log_lines pz)
  sleep 1
  [ "$(log_lines pz)" -eq "$n1" ]
  run kiln pause pz
  [ "$status" -eq 1 ]
  [[ "$output" == *"is already paused"* ]]
  [ "$(kiln unpause pz)" = pz ]
  until_true 5 log_grew pz "$n1"
  [ "$(field pz '{{.State.Status}}')" = running ]
  run kiln unpause pz
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not paused"* ]]
  # kill of a paused container takes effect, as docker's
  kiln pause pz
  kiln kill pz
  [ "$(field pz '{{.State.Status}} {{.State.ExitCode}} {{.State.Paused}}')" = "exited 137 false" ]
  run kiln pause pz
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not running"* ]]
  kiln rm pz
}

@test "a killed monitor's cgroup goes at the next look; system check names a stale one and --repair removes it" {
  id=$(kiln run -d --name km -m 32m busybox sleep 100)
  mem=$(cgdir "$id" memory)
  [ -d "$mem" ]
  mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Kiln"]["MonitorPid"])' \
    "$KILN_ROOT/containers/$id/state.json")
  kill -9 "$mon"
  until_true 5 test "$(field km '{{.State.Status}}')" = exited
  [ ! -d "$mem" ]
  [ ! -e "$KILN_ROOT/containers/$id/cgroup" ]
  # A cgroup no container of this store owns (a monitor killed mid-start).
  # (its group's directory went with the store's last cgroup)
  stale="$(dirname "$mem")/$(printf 'f%.0s' $(seq 64))"
  mkdir -p "$stale"
  run kiln system check
  [[ "$output" == *"leftover: cgroup $stale"* ]]
  run kiln system check --repair
  [[ "$output" == *"removed: cgroup $stale"* ]]
  [ ! -d "$stale" ] && [ ! -d "$(dirname "$mem")" ]
  run kiln system check
  [[ "$output" != *cgroup* ]]
  kiln rm km
}

@test "bad resource flags get docker's messages and make nothing" {
  before=$(kiln ps -aq | wc -l)
  run kiln run --rm -m 3m busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
  run kiln run --rm -m 3x busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"invalid argument \"3x\" for \"-m, --memory\" flag: invalid size: '3x'"* ]]
  run kiln run --rm --memory-swap 10m busybox true
  [[ "$output" == *"You should always set the Memory limit when using Memoryswap limit, see usage"* ]]
  run kiln run --rm -m 20m --memory-swap 10m busybox true
  [[ "$output" == *"Minimum memoryswap limit should be larger than memory limit, see usage"* ]]
  run kiln run --rm --cpus 99 busybox true
  [[ "$output" == *"Range of CPUs is from 0.01 to "* ]]
  run kiln run --rm --cpus x busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"failed to parse x as a rational number"* ]]
  # Any flag docker's run refuses exits 125 (its flag errors); no IMAGE is kiln's usage error.
  run kiln run --no-such-flag busybox true
  [ "$status" -eq 125 ]
  run kiln create --stop-signal NOPE busybox true
  [ "$status" -eq 125 ]
  run kiln run
  [ "$status" -eq 2 ]
  run kiln run --rm --ulimit nofile=5:1 busybox true
  [[ "$output" == *"ulimit soft limit must be less than or equal to hard limit: 5 > 1"* ]]
  run kiln run --rm --ulimit bogus=1 busybox true
  [[ "$output" == *"invalid ulimit type: bogus"* ]]
  run kiln run --rm --sysctl kernel.hostname=x busybox true
  [[ "$output" == *"sysctl 'kernel.hostname=x' is not whitelisted"* ]]
  run kiln run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true
  [[ "$output" == *"not allowed in host network mode"* ]]
  run kiln run --rm --device /etc/passwd busybox true
  [[ "$output" == *"not a device node"* ]]
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
}

@test "--ulimit, --shm-size, --sysctl, --device and --group-add reach the container" {
  run kiln run --rm --ulimit nofile=100:200 busybox sh -c 'ulimit -n; ulimit -Hn'
  [ "$output" = "$(printf '100\n200')" ]
  run kiln run --rm --shm-size 16m busybox df -k /dev/shm
  [[ "${lines[1]}" == *" 16384 "* ]]
  run kiln run --rm busybox df -k /dev/shm
  [[ "${lines[1]}" == *" 65536 "* ]]
  run kiln run --rm --sysctl kernel.shmmni=1234 busybox cat /proc/sys/kernel/shmmni
  [ "$output" = 1234 ]
  [ "$(cat /proc/sys/kernel/shmmni)" != 1234 ]
  # /dev/fuse is denied by docker's rules: --device allows it, read-only here.
  run kiln run --rm --device /dev/fuse:/dev/myfuse:r busybox sh -c 'ls -l /dev/myfuse; echo > /dev/myfuse'
  [[ "${lines[0]}" == c*" 10, 229 "*/dev/myfuse ]]
  [[ "$output" == *"Operation not permitted"* ]]
  run kiln run --rm busybox ls /dev/fuse
  [ "$status" -ne 0 ]
  run kiln run --rm --group-add audio --group-add 4242 -u nobody busybox id -G
  [ "$output" = "65534 29 4242" ]
  run kiln create --name ga --group-add audio --ulimit nproc=50 busybox true
  [ "$(field ga '{{json .HostConfig.GroupAdd}} {{json .HostConfig.Ulimits}}')" = '["audio"] [{"Name":"nproc","Hard":50,"Soft":50}]' ]
  kiln rm ga
}
