#!/usr/bin/env bats
# A container's life beyond one run, as a docker user meets it: terminals (run -t,
# -it, -dt, attach and its detach keys, start -a -i), restart policies and their
# backoff, restart, --stop-timeout, --init, -h/--hostname, and `system boot`
# bringing back what a reboot took. Terminals are driven by tty_drive.py.
load helpers
load containers
bats_require_minimum_version 1.5.0

fmt() { kiln inspect --format "$1" "$2"; }
is() { [ "$(fmt "$1" "$2")" = "$3" ]; }

@test "run -t: the command's terminal is /dev/pts/0 of the container's devpts; without -t none" {
  run kiln run --rm -t busybox tty
  [ "$status" -eq 0 ]
  [ "$output" = $'/dev/pts/0\r' ]
  run kiln run --rm busybox tty
  [ "$status" -eq 1 ]
  [ "$output" = "not a tty" ]
  # Its controlling terminal: the shell's job control has one.
  run kiln run --rm -t busybox sh -c 'cat /proc/self/stat | cut -d" " -f7'
  [ "${output%$'\r'}" != 0 ]
  # Much output, faster than a terminal takes it: every line arrives, in order.
  run sh -c "'$KILN' run --rm -t busybox sh -c 'i=0; while [ \$i -lt 20000 ]; do echo line\$i; i=\$((i+1)); done' | tr -d '\r' | awk 'END {print NR, \$0}'"
  [ "$output" = "20000 line19999" ]
  # -it wants a terminal to read from, as docker.
  run kiln run --rm -it busybox true </dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"the input device is not a TTY"* ]]
}

@test "run -it: the caller's window size from the start, and when it changes (SIGWINCH)" {
  run drive --rows 31 --cols 97 -- "$KILN" run --rm -t busybox stty size
  [ "$status" -eq 0 ]
  [ "$output" = "31 97" ]
  run drive --rows 31 --cols 97 --resize 2:40x120 --send '3:stty size; exit 4\r' -- \
    "$KILN" run --rm -it busybox sh
  echo "$output"
  [ "$status" -eq 4 ]
  [[ "$output" == *$'\n40 120'* ]]
  # The terminal was given back as it was (not raw): drive's own stty still works.
  run drive -- sh -c "'$KILN' run --rm -it busybox true; stty -a | grep -o -- '-\?icanon' | head -1"
  [ "$output" = icanon ]
}

@test "run -dt: the monitor holds the terminal and logs it as stdout, as docker" {
  id=$(kiln run -dt --name dt busybox sh -c 'echo hi; tty; sleep 0.2')
  until_true 10 is '{{.State.Status}}' dt exited
  grep -q '^{"log":"hi\\r\\n","stream":"stdout","time":"' "$KILN_ROOT/containers/$id/$id-json.log"
  run kiln logs dt
  [ "${lines[1]}" = $'/dev/pts/0\r' ]
  [ ! -e "$KILN_ROOT/containers/$id/attach.sock" ]
  kiln rm dt
}

@test "attach: a client typing more than the pty holds into a container that reads nothing does not stop its output" {
  id=$(kiln run -dt --name paste busybox sh -c 'stty raw; while :; do echo tick; sleep 0.1; done')
  until_true 5 test -S "$KILN_ROOT/containers/$id/attach.sock"
  # The container's tty is raw and nothing reads it: its input fills (~55 KiB).
  # A client of attach.sock's frames ('i', a 4-byte length, the bytes) reads
  # what it gets, sends 256 KiB of input and holds on for 3 s.
  python3 -c '
import os, socket, struct, sys, threading, time
d = os.open(sys.argv[1], os.O_PATH | os.O_DIRECTORY)
s = socket.socket(socket.AF_UNIX)
s.connect("/proc/self/fd/%d/attach.sock" % d)
def drain():
    while True:
        try:
            if not s.recv(65536):
                return
        except socket.timeout:
            pass
threading.Thread(target=drain, daemon=True).start()
s.settimeout(2)
try:
    for _ in range(64):
        s.sendall(b"i" + struct.pack(">I", 4096) + b"a" * 4096)
except socket.timeout:
    pass
time.sleep(3)
' "$KILN_ROOT/containers/$id" &
  local client=$!
  sleep 1.5
  before=$(kiln logs paste | grep -c tick)
  sleep 1
  after=$(kiln logs paste | grep -c tick)
  wait "$client"
  [ "$after" -gt "$before" ] || { echo "log stalled at $before ticks"; false; }
  kiln rm -f paste >/dev/null
}

@test "attach: input goes in, ctrl-p ctrl-q detaches with docker's message, the container runs on" {
  kiln run -dit --name att busybox sh >/dev/null
  run drive --send '1:echo hel""lo\r' --send '1.8:\x10\x11' -- "$KILN" attach att
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\nhello\n'* ]]
  [[ "$output" == *"read escape sequence"* ]]
  is '{{.State.Status}}' att running
  # Other keys; a ctrl-p not followed by ctrl-q is typed through.
  run drive --send '1:echo a\x10b\r' --send '1.8:\x01x' -- "$KILN" attach --detach-keys ctrl-a,x att
  [ "$status" -eq 0 ]
  [[ "$output" == *"read escape sequence"* ]]
  run kiln attach --detach-keys ctrl-å att
  [ "$status" -ne 0 ]
  [[ "$output" == *"Invalid detach keys (ctrl-å) provided"* ]]
  # The container's end ends the attach, with its code.
  run drive --send '1:exit 5\r' -- "$KILN" attach att
  [ "$status" -eq 5 ]
  is '{{.State.ExitCode}}' att 5
  run kiln attach att
  [ "$status" -eq 1 ]
  [[ "$output" == *"You cannot attach to a stopped container, start it first"* ]]
  # start -a -i attaches again.
  run drive --send '1.5:echo again\r' --send '2:exit 6\r' -- "$KILN" start -a -i att
  [ "$status" -eq 6 ]
  [[ "$output" == *$'\nagain\n'* ]]
  kiln rm att
}

@test "--restart on-failure:3: a crashing command runs four times, RestartCount 3, then it stays exited" {
  kiln run -d --name of3 --restart on-failure:3 busybox sh -c 'echo run; exit 3' >/dev/null
  is '{{json .HostConfig.RestartPolicy}}' of3 '{"Name":"on-failure","MaximumRetryCount":3}'
  until_true 20 is '{{.State.Status}}' of3 exited
  is '{{.RestartCount}} {{.State.ExitCode}} {{.State.Restarting}}' of3 '3 3 false'
  sleep 1.5 # the last backoff (400 ms) is long past: nothing more
  is '{{.RestartCount}} {{.State.Status}}' of3 '3 exited'
  [ "$(kiln logs of3 | grep -c '^run$')" -eq 4 ]
  kiln rm of3
}

@test "--restart always: the command comes back after it exits, ps says Restarting while it waits" {
  kiln run -d --name alw --restart always busybox sh -c 'echo up; exit 2' >/dev/null
  # The backoff doubles from 100 ms: soon it waits long enough to be seen.
  until_true 15 sh -c "'$KILN' ps | grep -Eq 'Restarting \\(2\\) (Less than a second|[0-9]+ seconds?) ago +alw\$'"
  is '{{.State.Status}} {{.State.Restarting}} {{.State.Running}} {{.State.Pid}}' alw 'restarting true true 0'
  [ "$(fmt '{{.RestartCount}}' alw)" -ge 1 ]
  # A stop in the middle of a backoff: no more runs.
  run kiln stop alw
  [ "$status" -eq 0 ]
  is '{{.State.Status}} {{.State.Restarting}}' alw 'exited false'
  n=$(fmt '{{.RestartCount}}' alw)
  sleep 1
  is '{{.RestartCount}} {{.State.Status}}' alw "$n exited"
  kiln rm alw
}

@test "stop and kill are a user's: a running always container stays stopped; restart is not counted" {
  kiln run -d --name alw2 --restart always busybox sleep 1000 >/dev/null
  kiln stop -t 1 alw2 >/dev/null
  sleep 0.8
  is '{{.State.Status}} {{.RestartCount}}' alw2 'exited 0'
  # A user's start forgets the stop; kill -9 is a stop too.
  kiln start alw2 >/dev/null
  kiln kill alw2 >/dev/null
  sleep 0.8
  is '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' alw2 'exited 137 0'
  # Another signal is not: the command ended by it comes back.
  kiln start alw2 >/dev/null
  kiln kill -s USR1 alw2 >/dev/null
  until_true 5 is '{{.RestartCount}} {{.State.Status}}' alw2 '1 running'
  # restart: a new run, not counted in RestartCount (docker counts only the policy's).
  before=$(fmt '{{.State.StartedAt}}' alw2)
  run kiln restart -t 1 alw2
  [ "$status" -eq 0 ] && [ "$output" = alw2 ]
  is '{{.State.Status}} {{.RestartCount}}' alw2 'running 1'
  [ "$(fmt '{{.State.StartedAt}}' alw2)" != "$before" ]
  run kiln restart nosuch
  [ "$status" -eq 1 ]
  [[ "$output" == *"No such container: nosuch"* ]]
  kiln rm -f alw2
}

@test "--stop-timeout: a command that ignores TERM is killed after it (and stop -t overrides it)" {
  kiln run -d --name st --stop-timeout 2 busybox sh -c 'trap "" TERM; while true; do sleep 0.1; done' >/dev/null
  is '{{.Config.StopTimeout}}' st 2
  s=$(date +%s%N)
  kiln stop st
  t=$((($(date +%s%N) - s) / 1000000))
  [ "$t" -ge 1900 ] && [ "$t" -lt 6000 ]
  is '{{.State.ExitCode}}' st 137
  kiln start st >/dev/null
  s=$(date +%s%N)
  kiln stop -t 0 st
  t=$((($(date +%s%N) - s) / 1000000))
  [ "$t" -lt 1500 ]
  run kiln run --rm --stop-timeout x busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *'invalid argument "x" for "--stop-timeout" flag'* ]]
  kiln rm st
}

@test "--restart: docker's messages for bad values and for --rm with a policy" {
  run kiln run --rm --restart always busybox true
  [ "$status" -eq 125 ]
  [ "${lines[0]}" = "kiln: conflicting options: cannot specify both --restart and --rm" ]
  run kiln run --restart sometimes busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"* ]]
  run kiln create --restart always:3 busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"invalid restart policy: maximum retry count can only be used with 'on-failure'"* ]]
  run kiln create --restart on-failure:x busybox true
  [[ "$output" == *"invalid restart policy format: maximum retry count must be an integer"* ]]
  run kiln create --restart on-failure:-1 busybox true
  [[ "$output" == *"invalid restart policy: maximum retry count cannot be negative"* ]]
  [ -z "$(kiln ps -aq)" ]
}

@test "-h is --hostname on run and create (Config.Hostname and the UTS name); --help is help" {
  run kiln run --rm -h myhost busybox sh -c 'hostname; grep myhost /etc/hosts'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = myhost ]
  [[ "${lines[1]}" == *myhost ]]
  id=$(kiln create --hostname other.example busybox hostname)
  is '{{.Config.Hostname}}' "$id" other.example
  run kiln start -a "$id"
  [ "$output" = other.example ]
  run kiln run --help
  [ "$status" -eq 0 ]
  [[ "$output" == "Usage: kiln run"* ]]
  [[ "$output" == *"-h, --hostname NAME"* ]]
  run kiln create --help
  [[ "$output" == "Usage: kiln create"* ]]
  run kiln run --rm -h 'bad host' busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *"invalid hostname format: bad host"* ]]
  kiln rm "$id" >/dev/null
}

@test "--init is recorded; kiln's init is PID 1 anyway: it reaps orphans and passes signals on" {
  kiln run -d --init --name in busybox sh -c '(sleep 0.2 &); sleep 1000' >/dev/null
  is '{{.HostConfig.Init}}' in true
  sleep 0.6
  # The orphaned sleep was reaped by PID 1 (no zombie left), which is kiln's init.
  pid=$(fmt '{{.State.Pid}}' in)
  [ "$(cat /proc/$pid/comm)" != sh ]
  refute grep -q '^State:.*zombie' $(for p in $(cat /proc/$pid/task/*/children); do echo /proc/$p/status; done) /dev/null
  # TERM reaches the command (which has no handler): it ends at once with it.
  s=$(date +%s%N)
  kiln kill -s TERM in >/dev/null
  until_true 5 is '{{.State.Status}}' in exited
  [ $((($(date +%s%N) - s) / 1000000)) -lt 3000 ]
  is '{{.State.ExitCode}}' in 143
  kiln rm in >/dev/null
}

@test "system boot: after monitors died (a reboot), always and unless-stopped come back, the rest stay" {
  kiln run -d --name b-always --restart always busybox sleep 1000 >/dev/null
  kiln run -d --name b-unless --restart unless-stopped busybox sleep 1000 >/dev/null
  kiln run -d --name b-stopped --restart unless-stopped busybox sleep 1000 >/dev/null
  kiln run -d --name b-always-stopped --restart always busybox sleep 1000 >/dev/null
  kiln run -d --name b-fail --restart on-failure busybox sleep 1000 >/dev/null
  kiln run -d --name b-no busybox sleep 1000 >/dev/null
  kiln stop -t 1 b-stopped b-always-stopped >/dev/null
  for n in b-always b-unless b-fail b-no; do kill -9 "$(monitor_pid $n)"; done
  until_true 5 is '{{.State.Status}}' b-no exited
  run kiln system boot
  [ "$status" -eq 0 ]
  [ "$(sort <<<"$output" | tr '\n' ' ')" = "b-always b-always-stopped b-fail b-unless " ]
  for n in b-always b-unless b-always-stopped b-fail; do is '{{.State.Status}}' $n running; done
  is '{{.State.Status}} {{.State.ExitCode}}' b-no 'exited 137'
  is '{{.State.Status}}' b-stopped exited
  # Twice is harmless: what runs is left alone.
  run kiln system boot
  [ "$status" -eq 0 ] && [ -z "$output" ]
  kiln rm -f b-always b-unless b-stopped b-always-stopped b-fail b-no >/dev/null
}
