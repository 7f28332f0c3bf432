#!/usr/bin/env bats
# Containers that outlive the command, as a docker user meets them: run -d, ps,
# logs, stop, kill, rm, wait, start, create, inspect, and what happens when a
# monitor is killed. Every container here has a name of its test; teardown_file
# removes what a failed test left running.
load helpers
load containers
bats_require_minimum_version 1.5.0

# state NAME FIELD: a field of `kiln inspect`'s State.
state() {
  kiln inspect --type container "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"][sys.argv[1]])' "$2"
}

@test "run -d prints the id and returns; ps shows it Up; logs keeps stdout and stderr apart" {
  run kiln run -d --name rd busybox sh -c 'i=0; while true; do echo out$i; echo err$i >&2; i=$((i+1)); sleep 0.1; done'
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^[0-9a-f]{64}$ ]]
  id=$output
  [ -f "$KILN_ROOT/containers/$id/config.json" ]
  run kiln ps
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "CONTAINER ID   IMAGE     COMMAND                  CREATED"*"STATUS"*"PORTS     NAMES" ]]
  [[ "$output" =~ ${id:0:12}\ +busybox\ +\"sh\ -c\ \'i=0\;\ while\ t…\"\ .*\ Up\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ +rd ]]
  until_true 5 sh -c "'$KILN' logs rd 2>/dev/null | grep -qx out3"
  run sh -c "'$KILN' logs rd 2>/dev/null"
  [ "${lines[0]}" = out0 ] && [ "${lines[1]}" = out1 ]
  refute grep -q err <<<"$output"
  run sh -c "'$KILN' logs rd 2>&1 >/dev/null"
  [ "${lines[0]}" = err0 ] && [ "${lines[1]}" = err1 ]
  refute grep -q out <<<"$output"
  # docker's json-file format, line by line.
  head -1 "$KILN_ROOT/containers/$id/$id-json.log" | grep -Eq '^\{"log":"(out|err)0\\n","stream":"std(out|err)","time":"[0-9-]+T[0-9:.]+Z"\}$'
  run kiln logs -t --tail 1 rd
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z\ (out|err)[0-9]+$ ]]
  [ "$(state rd Status)" = running ] && [ "$(state rd Running)" = True ]
  kiln rm -f rd
}

@test "logs -f follows the output and ends when the container stops" {
  kiln run -d --name lf busybox sh -c 'echo first; while true; do echo tick; sleep 0.2; done' >/dev/null
  "$KILN" logs -f lf > "$TMP/follow" 2>&1 3>&- &
  follower=$!
  until_true 5 grep -q tick "$TMP/follow"
  ticks=$(grep -c tick "$TMP/follow")
  sleep 0.5
  [ "$(grep -c tick "$TMP/follow")" -gt "$ticks" ]   # still following
  kill -0 "$follower"
  kiln stop lf
  status=0
  timeout 5 tail --pid="$follower" -f /dev/null || status=$?
  [ "$status" -eq 0 ]                                 # it ended by itself
  wait "$follower"
  [ "$(head -1 "$TMP/follow")" = first ]
  kiln rm lf
}

@test "stop: TERM first; what ignores TERM gets KILL after -t; stopping a stopped container prints its name" {
  kiln run -d --name st1 busybox sleep 1000 >/dev/null
  run kiln stop st1
  [ "$status" -eq 0 ] && [ "$output" = st1 ]
  [ "$(state st1 ExitCode)" = 143 ] && [ "$(state st1 Status)" = exited ]
  kiln run -d --name st2 busybox sh -c 'trap "" TERM; echo ready; while true; do sleep 0.1; done' >/dev/null
  until_true 5 sh -c "'$KILN' logs st2 | grep -q ready"
  start=$(date +%s%N)
  run timeout 20 "$KILN" stop -t 1 st2
  elapsed=$((($(date +%s%N) - start) / 1000000))
  [ "$status" -eq 0 ] && [ "$output" = st2 ]
  [ "$elapsed" -ge 900 ] && [ "$elapsed" -lt 5000 ]
  [ "$(state st2 ExitCode)" = 137 ]
  run kiln ps -a
  [[ "$output" =~ Exited\ \(137\)\ [^\ ].*\ st2 ]]
  [[ "$output" =~ Exited\ \(143\)\ .*\ st1 ]]
  run kiln stop st2
  [ "$status" -eq 0 ] && [ "$output" = st2 ]
  # The image's STOPSIGNAL is what stop sends first.
  printf 'FROM busybox\nSTOPSIGNAL USR1\n' > "$CTX/Dockerfile"
  kiln build -q -t stopsig:1 "$CTX" >/dev/null
  kiln run -d --name st3 stopsig:1 sh -c 'trap "echo got USR1; exit 9" USR1; echo ready; while true; do sleep 0.1; done' >/dev/null
  until_true 5 sh -c "'$KILN' logs st3 | grep -q ready"
  kiln stop -t 5 st3
  [ "$(state st3 ExitCode)" = 9 ]
  kiln logs st3 | grep -qx "got USR1"
  kiln rm st1 st2 st3
}

@test "exit codes: ps -a shows Exited (3), inspect has State.ExitCode and State.Status; wait prints it" {
  kiln run -d --name ex3 busybox sh -c 'echo out; echo err >&2; exit 3' >/dev/null
  run kiln wait ex3
  [ "$status" -eq 0 ] && [ "$output" = 3 ]
  [ "$(state ex3 ExitCode)" = 3 ] && [ "$(state ex3 Status)" = exited ] && [ "$(state ex3 Running)" = False ]
  [ "$(state ex3 Pid)" = 0 ]
  run kiln ps -a
  [[ "$output" =~ \"sh\ -c\ \'echo\ out\;\ ec…\"\ .*\ Exited\ \(3\)\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +ex3 ]]
  run kiln ps -a --no-trunc
  [[ "$output" == *"\"sh -c 'echo out; echo err >&2; exit 3'\""* ]]
  # Not running: only ps -a lists it.
  refute grep -q ex3 <<<"$(kiln ps)"
  kiln run -d --name ex0 busybox true >/dev/null
  run kiln wait ex3 ex0
  [ "$output" = "$(printf '3\n0')" ]
  kiln rm ex3 ex0
}

@test "rm refuses a running container with docker's message; rm -f kills and removes it" {
  id=$(kiln run -d --name rmme busybox sleep 1001)
  run kiln rm rmme
  [ "$status" -eq 1 ]
  [[ "$output" == *"You cannot remove a running container $id. Stop the container before attempting removal or force remove"* ]]
  pgrep -f "sleep 100[1]" >/dev/null
  run kiln rm -f rmme
  [ "$status" -eq 0 ] && [ "$output" = rmme ]
  refute pgrep -f "sleep 100[1]"
  [ ! -e "$KILN_ROOT/containers/$id" ]
  run kiln inspect --type container rmme
  [ "$status" -eq 1 ]
  [[ "$output" == *"Error: No such container: rmme"* ]]
}

@test "a name in use is refused with docker's message: run exits 125, create 1; names are checked" {
  id=$(kiln create --name taken busybox true)
  run kiln run -d --name taken busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Conflict. The container name \"/taken\" is already in use by container \"$id\". You have to remove (or rename) that container to be able to reuse that name."* ]]
  run kiln create --name /taken busybox true
  [ "$status" -eq 1 ]
  [[ "$output" == *"Conflict. The container name \"/taken\""* ]]
  [ "$(kiln ps -aq --no-trunc | grep -c .)" -ge 1 ]
  [ "$(kiln ps -a | grep -c ' taken$')" -eq 1 ]
  run kiln run -d --name 'bad name' busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"Invalid container name (bad name)"* ]]
  # Without --name: adjective_surname.
  gen=$(kiln create busybox true)
  name=$(kiln inspect "$gen" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Name"])')
  [[ "$name" =~ ^/[a-z]+_[a-z]+$ ]]
  kiln rm taken "$gen"
}

@test "kill -9 of the monitor: the container dies with it, and ps -a and inspect say so" {
  id=$(kiln run -d --name doomed busybox sleep 1002)
  pgrep -f "sleep 100[2]" >/dev/null
  mon=$(monitor_pid "$id")
  kill -9 "$mon"
  until_true 5 sh -c '! pgrep -f "sleep 100[2]"'
  run kiln ps -a
  [[ "$output" =~ Exited\ \(137\)\ .*\ doomed ]]
  # The raw JSON, not --format: the reason is recorded.
  run kiln inspect doomed
  [[ "$output" == *"\"Error\": \"the container's monitor died (pid $mon); the container was killed with it\""* ]]
  [ "$(state doomed Status)" = exited ] && [ "$(state doomed ExitCode)" = 137 ]
  kiln rm doomed
}

@test "a foreground kiln run is its container's monitor: killed, its container dies and is recorded" {
  "$KILN" run --name fg busybox sleep 1003 3>&- &
  pid=$!
  until_true 5 sh -c 'pgrep -f "sleep 100[3]" >/dev/null'
  until_true 5 sh -c "'$KILN' ps | grep -q ' fg$'"
  kill -9 "$pid"
  wait "$pid" || true
  until_true 5 sh -c '! pgrep -f "sleep 100[3]"'
  [ "$(state fg ExitCode)" = 137 ]
  [[ "$(state fg Error)" == *"monitor died"* ]]
  kiln rm fg
}

@test "start runs an exited container again (its changes kept); create + start; start -a prints and exits with it" {
  kiln run -d --name again busybox sh -c 'echo run >> /count; wc -l < /count' >/dev/null
  kiln wait again >/dev/null
  run kiln start again
  [ "$status" -eq 0 ] && [ "$output" = again ]
  kiln wait again >/dev/null
  run kiln logs again
  [ "$output" = "$(printf '1\n2')" ]
  id=$(kiln create --name made busybox sh -c 'echo hello from made; exit 4')
  [ "$(state made Status)" = created ]
  run kiln ps -a
  [[ "$output" =~ ${id:0:12}.*\ Created\ +made ]]
  run kiln start -a made
  [ "$status" -eq 4 ] && [ "$output" = "hello from made" ]
  run kiln start -a made
  [ "$status" -eq 4 ] && [ "$output" = "hello from made" ]   # only this start's output
  run kiln start made
  [ "$status" -eq 0 ] && [ "$output" = made ]
  kiln wait made >/dev/null
  kiln rm again made
}

@test "a container that cannot start: docker's exit code and message, and the reason in its state" {
  run -127 kiln run -d --name nocmd busybox /nosuch
  [ "$status" -eq 127 ]
  [[ "$output" == *"/nosuch"*"No such file or directory"* ]]
  [ "$(state nocmd Status)" = created ] && [ "$(state nocmd ExitCode)" = 127 ]
  [[ "$(state nocmd Error)" == *"/nosuch"* ]]
  run -126 kiln run --rm busybox /etc/passwd
  [ "$status" -eq 126 ]
  kiln rm nocmd
}

@test "kill sends a signal; kill of a stopped container fails" {
  kiln run -d --name k1 busybox sh -c 'trap "echo got HUP; exit 5" HUP; echo ready; while true; do sleep 0.1; done' >/dev/null
  until_true 5 sh -c "'$KILN' logs k1 | grep -q ready"
  run kiln kill -s HUP k1
  [ "$status" -eq 0 ] && [ "$output" = k1 ]
  [ "$(kiln wait k1)" = 5 ]
  run kiln kill k1
  [ "$status" -eq 1 ]
  [[ "$output" == *"is not running"* ]]
  kiln run -d --name k2 busybox sleep 1004 >/dev/null
  kiln kill k2
  [ "$(state k2 ExitCode)" = 137 ]
  kiln rm k1 k2
}

@test "an unknown container: Error: No such container, exit 1, for every command" {
  for cmd in stop start kill rm wait logs "container inspect" "inspect --type container"; do
    run kiln $cmd nosuchcontainer
    [ "$status" -eq 1 ] || { echo "$cmd: $status"; false; }
    [[ "$output" == *"Error: No such container: nosuchcontainer"* ]] || { echo "$cmd: $output"; false; }
  done
}

@test "references: a unique id prefix, a full id, a name; inspect finds images when no container matches" {
  id=$(kiln create --name refs busybox true)
  [ "$(kiln inspect "${id:0:5}" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')" = "$id" ]
  [ "$(kiln container inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Name"])')" = /refs ]
  # docker's top-level keys, in docker's order.
  want=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))[0].keys()))' "$CONF/docker-shapes/container-exited.json")
  got=$(kiln inspect refs | python3 -c 'import json,sys; print(list(json.load(sys.stdin)[0].keys()))')
  [ "$got" = "$want" ]
  want=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))[0]["State"].keys()))' "$CONF/docker-shapes/container-exited.json")
  got=$(kiln inspect refs | python3 -c 'import json,sys; print(list(json.load(sys.stdin)[0]["State"].keys()))')
  [ "$got" = "$want" ]
  # An image by name: as before; --type image skips containers.
  run kiln inspect busybox
  [ "$status" -eq 0 ]
  [[ "$output" == *'"RepoTags"'* ]]
  run kiln inspect --type image refs
  [ "$status" -eq 1 ]
  kiln rm "${id:0:12}"
}

@test "rmi refuses an image a container uses unless -f; system prune removes stopped containers" {
  # An image of its own: removing one of several tags only untags, as in docker.
  printf 'FROM busybox\nLABEL only=inuse\n' > "$CTX/Dockerfile"
  kiln build -q -t inuse:1 "$CTX" >/dev/null
  id=$(kiln create --name user1 inuse:1 true)
  run kiln rmi inuse:1
  [ "$status" -eq 1 ]
  [[ "$output" == *"conflict: unable to remove repository reference \"inuse:1\" (must force) - container ${id:0:12} is using its referenced image"* ]]
  img=$(kiln inspect --type image inuse:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
  run kiln rmi "$img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"conflict: unable to delete ${img:7:12} (must be forced) - image is being used by stopped container ${id:0:12}"* ]]
  run kiln rmi -f inuse:1
  [ "$status" -eq 0 ]
  [[ "$output" == *"Untagged: inuse:1"* ]]
  kiln start user1 >/dev/null        # its image is still there
  kiln wait user1 >/dev/null
  kiln run -d --name alive "$img" sleep 1005 >/dev/null
  run kiln rmi -f "$img"
  [ "$status" -eq 1 ]
  [[ "$output" == *"(cannot be forced) - image is being used by running container"* ]]
  run kiln system prune -f
  [ "$status" -eq 0 ]
  [[ "$output" == *"Deleted Containers:"*"$id"* ]]
  run kiln ps -a
  refute grep -q user1 <<<"$output"
  grep -q alive <<<"$output"
  kiln rm -f alive
}

@test "container ls|rm|stop|start|wait|logs|prune are aliases; ps -q, -n, -l" {
  a=$(kiln container create --name al1 busybox sh -c 'echo a1')
  b=$(kiln container create --name al2 busybox sh -c 'echo a2')
  [ "$(kiln container ls -aq)" = "$(printf '%s\n%s' "${b:0:12}" "${a:0:12}")" ]
  [ "$(kiln ps -lq)" = "${b:0:12}" ]
  [ "$(kiln ps -n 2 -q --no-trunc)" = "$(printf '%s\n%s' "$b" "$a")" ]
  kiln container start al1 >/dev/null
  [ "$(kiln container wait al1)" = 0 ]
  [ "$(kiln container logs al1)" = a1 ]
  run kiln container prune -f
  [[ "$output" == *"Deleted Containers:"*"$a"*"$b"* ]] || [[ "$output" == *"Deleted Containers:"*"$b"*"$a"* ]]
  [ -z "$(kiln ps -aq)" ]
}

@test "a foreground run --rm leaves no record; without --rm it leaves an exited one with its logs" {
  before=$(kiln ps -aq | wc -l)
  run kiln run --rm busybox sh -c 'echo fg-out; echo fg-err >&2; exit 6'
  [ "$status" -eq 6 ]
  [[ "$output" == *fg-out* && "$output" == *fg-err* ]]
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
  run kiln run --name kept busybox sh -c 'echo kept-out; exit 2'
  [ "$status" -eq 2 ] && [ "$output" = kept-out ]
  [ "$(kiln logs kept)" = kept-out ]
  [ "$(state kept ExitCode)" = 2 ]
  kiln rm kept
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
}

@test "system check: clean after all that; a directory without a record and a record without a directory are found and repaired" {
  run kiln system check
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  id=$(kiln create --name chk busybox true)
  mkdir -p "$KILN_ROOT/containers/$(printf 'ab%.0s' $(seq 32))"
  mv "$KILN_ROOT/containers/$id" "$TMP/moved"
  run kiln system check
  [ "$status" -eq 1 ]
  [[ "$output" == *"a container directory without a record"* ]]
  [[ "$output" == *"container $id (chk): a record without its directory"* ]]
  run kiln system check --repair
  [ "$status" -eq 0 ]
  run kiln system check
  [ "$status" -eq 0 ] && [ "$output" = "the store is clean" ]
  refute grep -q chk <<<"$(kiln ps -a)"
}

@test "SIGKILL of kiln run -d at random moments never leaves a record that lies" {
  for i in $(seq 1 16); do
    "$KILN" run -d --name "crash$i" busybox sh -c 'sleep 1006' >/dev/null 2>&1 3>&- &
    pid=$!
    sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Every record reads; what says running runs. A starter killed after it made
  # the monitor costs the container nothing (the monitor tells a dead starter
  # "ok" without dying of SIGPIPE).
  for id in $(kiln ps -aq --no-trunc); do
    s=$(state "$id" Status)
    if [ "$s" = running ]; then
      kill -0 "$(state "$id" Pid)" || { echo "$id says running, its init is gone"; false; }
    fi
    [[ "$(state "$id" Error)" != *"monitor died"* ]] || { echo "$id: its monitor died with its starter"; false; }
  done
  run kiln system check --repair
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  ids=$(kiln ps -aq --no-trunc)
  [ -z "$ids" ] || kiln rm -f $ids >/dev/null
  refute pgrep -f "sleep 100[6]"
  run kiln system check
  [ "$status" -eq 0 ] && [ "$output" = "the store is clean" ]
}
