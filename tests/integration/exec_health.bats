#!/usr/bin/env bats
# kiln exec and health checks, as a docker user meets them: a command in a
# running container (its namespaces, cgroups, user, environment, capabilities,
# seccomp), docker's exit codes and errors, and a service whose health goes
# starting → healthy → unhealthy. Every container has a name of its test;
# teardown_file removes what a failed test left running.
load helpers
load containers
bats_require_minimum_version 1.5.0

# health NAME EXPR: a Python expression over State.Health (h) of `kiln inspect`.
health() {
  kiln inspect --type container "$1" | python3 -c '
import json, sys
h = json.load(sys.stdin)[0]["State"].get("Health")
print(eval(sys.argv[1]))' "$2"
}

log_has() { [ "$(health "$1" 'len(h["Log"])')" -ge "$2" ]; }
status_is() { [ "$(kiln inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ]; }

@test "exec: the command's output and docker's exit codes (status, 126, 127)" {
  kiln run -d --name ex-codes busybox sleep 300
  run --separate-stderr kiln exec ex-codes sh -c 'echo out; echo err >&2'
  [ "$status" -eq 0 ]
  [ "$output" = out ]
  [ "$stderr" = err ]
  run kiln exec ex-codes sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run -127 kiln exec ex-codes nosuchcommand
  [ "$status" -eq 127 ]
  [[ "$output" == *nosuchcommand* ]]
  run -126 kiln exec ex-codes /etc/passwd
  # kiln container exec is the same command; stdin only with -i.
  run kiln container exec ex-codes echo via-container
  [ "$output" = via-container ]
  run sh -c "echo piped | '$KILN' exec -i ex-codes cat"
  [ "$output" = piped ]
  run sh -c "echo piped | '$KILN' exec ex-codes cat"
  [ "$output" = "" ]
}

@test "exec: -u, -w, -e, --env-file over the container's user, directory and environment" {
  kiln run -d --name ex-env -e FROM_RUN=1 -e SHARED=run -w /srv busybox sleep 300
  run kiln exec ex-env sh -c 'echo "$(id -u) $(pwd) $FROM_RUN $SHARED $HOSTNAME"'
  [ "$output" = "0 /srv 1 run $(kiln inspect -f '{{.Config.Hostname}}' ex-env)" ]
  printf 'FROM_FILE=f\n# a comment\n' > "$TMP/env"
  run kiln exec -u 1000:1000 -w /tmp -e SHARED=exec --env-file "$TMP/env" ex-env \
    sh -c 'echo "$(id -u):$(id -g) $(pwd) $FROM_RUN $SHARED $FROM_FILE"'
  [ "$status" -eq 0 ]
  [ "$output" = "1000:1000 /tmp 1 exec f" ]
  # What keeps it from starting: docker's 126.
  run -126 kiln exec -u nosuchuser ex-env true
  [[ "$output" == *"unable to find user nosuchuser"* ]]
  run -126 kiln exec -w relative ex-env true
  run -126 kiln exec -w /nosuchdir ex-env true
  [[ "$output" == *"/nosuchdir"* ]]
}

@test "exec: inside the container's namespaces and cgroups, with its capabilities, seccomp and no_new_privs" {
  kiln run -d --name ex-ns --cap-drop NET_RAW --security-opt no-new-privileges busybox \
    sh -c 'grep -E "^(Cap|Seccomp|NoNewPrivs)" /proc/self/status > /tmp/main-status; cat /proc/self/cgroup > /tmp/main-cg; echo hello > /tmp/mine; sleep 300'
  until_true 5 kiln exec ex-ns test -f /tmp/mine
  # The same files, processes and hostname as the container's command.
  run kiln exec ex-ns cat /tmp/mine
  [ "$output" = hello ]
  run kiln exec ex-ns ps -o pid,args
  [[ "$output" == *"1 "*"kiln-init"* ]]
  [[ "$output" == *"sleep 300"* ]]
  [ "$(kiln exec ex-ns hostname)" = "$(kiln inspect -f '{{.Config.Hostname}}' ex-ns)" ]
  # Exactly the profile the command got.
  run kiln exec ex-ns sh -c 'grep -E "^(Cap|Seccomp|NoNewPrivs)" /proc/self/status | diff /tmp/main-status -'
  [ "$status" -eq 0 ]
  run kiln exec ex-ns sh -c 'diff /tmp/main-cg /proc/self/cgroup'
  [ "$status" -eq 0 ]
  # A non-root user gets no capabilities; --privileged every one.
  [ "$(kiln exec -u 1000 ex-ns sh -c 'grep CapEff /proc/self/status')" = "CapEff:	0000000000000000" ]
  run kiln exec --privileged ex-ns sh -c 'grep CapBnd /proc/self/status'
  [[ "$output" == CapBnd:* ]]
  [ "$(kiln exec ex-ns grep CapBnd /tmp/main-status)" != "$output" ]
}

@test "exec into a --privileged container gets what its command got: every capability, no seccomp" {
  kiln run -d --name ex-priv --privileged busybox \
    sh -c 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status > /tmp/main-status; sleep 300'
  until_true 5 kiln exec ex-priv test -s /tmp/main-status
  run kiln exec ex-priv sh -c 'grep -E "^(CapEff|CapBnd|Seccomp):" /proc/self/status | diff /tmp/main-status -'
  [ "$status" -eq 0 ]
  [[ "$(kiln exec ex-priv grep Seccomp: /proc/self/status)" == *0 ]]
}

@test "exec -d returns at once and the command runs on" {
  kiln run -d --name ex-d busybox sleep 300
  start=$(date +%s%N)
  run kiln exec -d ex-d sh -c 'sleep 1; echo done > /tmp/later'
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 900 ]
  refute kiln exec ex-d test -f /tmp/later
  until_true 5 kiln exec ex-d test -f /tmp/later
}

@test "exec: a stopped container and an unknown one get docker's errors; -t works (runflags.bats)" {
  kiln run --name ex-stopped busybox true
  id=$(kiln inspect -f '{{.Id}}' ex-stopped)
  run kiln exec ex-stopped true
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Container $id is not running" ]
  # The same words as docker's (../shared/conformance/docker-shapes).
  grep -qx "Error response from daemon: Container [0-9a-f]\{64\} is not running" "$CONF/docker-shapes/errors-and-formats.txt"
  run kiln exec nosuchcontainer true
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuchcontainer" ]
  kiln run -d --name ex-tty busybox sleep 300
  run kiln exec -t ex-stopped true
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Container $id is not running" ]
  run kiln exec -t ex-tty true
  [ "$status" -eq 0 ]
  run kiln exec ex-tty
  [ "$status" -eq 2 ]
}

@test "health: a service goes starting → healthy, then unhealthy when its probe fails; ps and inspect show it" {
  kiln run -d --name hc-svc --health-cmd 'test -f /tmp/ok' --health-interval 200ms --health-retries 2 \
    busybox sh -c 'touch /tmp/ok; exec sleep 300'
  [ "$(kiln inspect -f '{{json .Config.Healthcheck}}' hc-svc)" = \
    '{"Test":["CMD-SHELL","test -f /tmp/ok"],"Interval":200000000,"Retries":2}' ]
  run kiln inspect -f '{{.State.Health.Status}}' hc-svc
  [[ "$output" == starting || "$output" == healthy ]]
  until_true 5 status_is hc-svc healthy
  [[ "$(kiln ps | grep hc-svc)" =~ \ Up\ [^\(]*\ \(healthy\)\ +hc-svc$ ]]
  kiln exec hc-svc rm /tmp/ok
  until_true 5 status_is hc-svc unhealthy
  [[ "$(kiln ps | grep hc-svc)" =~ \ Up\ [^\(]*\ \(unhealthy\)\ +hc-svc$ ]]
  [ "$(health hc-svc 'h["FailingStreak"] >= 2')" = True ]
  sleep 1.5
  [ "$(health hc-svc 'len(h["Log"])')" = 5 ]
  [ "$(health hc-svc 'h["Log"][-1]["ExitCode"]')" = 1 ]
  # docker's shape: the same keys as docker's State.Health and its Log entries.
  [ "$(health hc-svc 'sorted(h)')" = "$(python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))[0]["State"]["Health"]))' "$CONF/docker-shapes/container-running-healthy.json")" ]
  [ "$(health hc-svc 'sorted(h["Log"][0])')" = "['End', 'ExitCode', 'Output', 'Start']" ]
  [[ "$(kiln inspect -f '{{json .State.Health}}' hc-svc)" == '{"Status":"'*'","FailingStreak":'*',"Log":[{"Start":"'*'Z","End":"'*'Z","ExitCode":1,"Output":""}'* ]]
  # In docker's order, as the seeds' docs read it (docker-shapes/health-json.txt).
  order() { python3 -c 'import json,sys; h=json.loads(sys.stdin.read()); print(list(h), list(h["Log"][0]))'; }
  [ "$(kiln inspect -f '{{json .State.Health}}' hc-svc | order)" = "$(order <"$CONF/docker-shapes/health-json.txt")" ]
  # Healthy again when the probe passes; the stop ends the checks (docker: unhealthy).
  kiln exec hc-svc touch /tmp/ok
  until_true 5 status_is hc-svc healthy
  [ "$(health hc-svc 'h["FailingStreak"]')" = 0 ]
  # The checker is the monitor's child; the stop ends it.
  id=$(kiln inspect -f '{{.Id}}' hc-svc)
  monitor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Kiln"]["MonitorPid"])' \
    "$KILN_ROOT/containers/$id/state.json")
  checker=$(pgrep -x kiln-health -P "$monitor")
  kiln stop -t 1 hc-svc
  status_is hc-svc unhealthy
  refute kill -0 "$checker" 2>/dev/null
  n=$(health hc-svc 'len(h["Log"])')
  sleep 0.5
  [ "$(health hc-svc 'len(h["Log"])')" = "$n" ]
}

@test "health: failures in the start period do not count; a probe that times out is ExitCode -1 with docker's message" {
  kiln run -d --name hc-slow --health-cmd 'echo begun; sleep 5' --health-timeout 200ms \
    --health-interval 200ms --health-retries 1 --health-start-period 1h busybox sleep 300
  until_true 5 log_has hc-slow 2
  [ "$(health hc-slow 'h["Status"]')" = starting ]
  [ "$(health hc-slow 'h["FailingStreak"]')" = 0 ]
  [ "$(health hc-slow 'h["Log"][0]["ExitCode"]')" = -1 ]
  [ "$(health hc-slow 'h["Log"][0]["Output"]')" = "Health check exceeded timeout (200ms): begun" ]
  # Killed at the timeout: it did not run its 5 seconds.
  [ "$(health hc-slow 'h["Log"][0]["End"] < h["Log"][1]["Start"]')" = True ]
  run kiln exec hc-slow ps -o args
  [ "$(grep -c 'sleep 5' <<<"$output")" -le 1 ]
  kiln rm -f hc-slow
}

@test "health: HEALTHCHECK from a Dockerfile, and --no-healthcheck turns it off" {
  printf 'FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD ["test", "-f", "/etc/passwd"]\nCMD ["sleep", "300"]\n' > "$CTX/Dockerfile"
  kiln build -q -t hc/image "$CTX" >/dev/null
  kiln run -d --name hc-image hc/image
  until_true 5 status_is hc-image healthy
  [ "$(health hc-image 'h["Log"][0]["ExitCode"]')" = 0 ]
  kiln run -d --name hc-none --no-healthcheck hc/image
  [ "$(kiln inspect -f '{{json .Config.Healthcheck}}' hc-none)" = '{"Test":["NONE"]}' ]
  sleep 0.5
  [ "$(health hc-none 'h')" = None ]
  [[ "$(kiln ps | grep hc-none)" =~ \ Up\ [^\(]*\ +hc-none$ ]]
  # A flag overrides its field only.
  kiln run -d --name hc-override --health-retries 5 hc/image
  [ "$(kiln inspect -f '{{json .Config.Healthcheck}}' hc-override)" = \
    '{"Test":["CMD","test","-f","/etc/passwd"],"Interval":200000000,"Retries":5}' ]
}

@test "health flags: docker's messages for bad values, nothing created" {
  before=$(kiln ps -aq | wc -l)
  run kiln run --rm --health-interval 1x busybox true
  [ "$status" -ne 0 ]
  [[ "$output" == *'invalid argument "1x" for "--health-interval" flag: time: unknown unit "x" in duration "1x"'* ]]
  grep -qF 'invalid argument "1x" for "--health-interval" flag: time: unknown unit "x" in duration "1x"' \
    "$CONF/docker-shapes/errors-and-formats.txt"
  run kiln run --rm --health-retries x busybox true
  [[ "$output" == *'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax'* ]]
  run kiln run --rm --no-healthcheck --health-cmd true busybox true
  [[ "$output" == *"--no-healthcheck conflicts with --health-* options"* ]]
  run kiln run --rm --health-timeout -1s busybox true
  [[ "$output" == *"--health-timeout cannot be negative"* ]]
  run kiln run --rm --health-interval 10us busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"Interval in Healthcheck cannot be less than 1ms"* ]]
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
}

@test "examples/busybox-service: its HEALTHCHECK (as its user, with its ENV) goes healthy, exec into it, unhealthy when the site goes" {
  kiln build -q -t hc/site "$BATS_TEST_DIRNAME/../../examples/busybox-service" >/dev/null
  # The image's probe, checked every 200 ms instead of 10 s.
  kiln run -d --name hc-site --health-interval 200ms --health-retries 2 hc/site
  [ "$(kiln inspect -f '{{index .Config.Healthcheck.Test 0}}' hc-site)" = CMD-SHELL ]
  until_true 10 status_is hc-site healthy
  [ "$(kiln exec hc-site id -un)" = web ]
  [ "$(kiln exec hc-site pwd)" = /var/www ]
  run kiln exec hc-site sh -c 'wget -q -O - http://127.0.0.1:$PORT/build.txt'
  [ "$output" = "built for kiln" ]
  kiln exec -u root hc-site rm /var/www/index.html
  until_true 10 status_is hc-site unhealthy
  [ "$(health hc-site 'h["Log"][-1]["ExitCode"]')" = 1 ]
  [[ "$(kiln ps | grep hc-site)" == *"(unhealthy)"* ]]
  kiln rm -f hc-site
}

@test "health across a restart policy: each run is checked again from starting; the end says unhealthy" {
  kiln run -d --name hc-restart --restart on-failure:1 --health-cmd true --health-interval 200ms busybox \
    sh -c 'sleep 1.5; exit 3'
  until_true 5 status_is hc-restart healthy
  state_is() { [ "$(kiln inspect -f '{{.State.Status}}' "$1")" = "$2" ]; }
  until_true 10 state_is hc-restart restarting
  until_true 10 state_is hc-restart running
  # The second run's checks: healthy again.
  until_true 5 status_is hc-restart healthy
  until_true 10 state_is hc-restart exited
  [ "$(kiln inspect -f '{{.RestartCount}}' hc-restart)" = 1 ]
  status_is hc-restart unhealthy
  n=$(health hc-restart 'len(h["Log"])')
  sleep 0.5
  [ "$(health hc-restart 'len(h["Log"])')" = "$n" ]
}

@test "a paused container: exec is refused with docker's message, and no probe runs until unpause" {
  kiln run -d --name hc-pause --health-cmd true --health-interval 200ms --health-timeout 300ms busybox sleep 300
  until_true 5 status_is hc-pause healthy
  id=$(kiln inspect -f '{{.Id}}' hc-pause)
  kiln pause hc-pause
  run kiln exec hc-pause true
  [ "$status" -eq 1 ]
  [ "$output" = "Error response from daemon: Container $id is paused, unpause the container before exec" ]
  n=$(health hc-pause 'len(h["Log"]) and h["Log"][-1]["End"]')
  sleep 1
  [ "$(health hc-pause 'len(h["Log"]) and h["Log"][-1]["End"]')" = "$n" ]
  [ "$(health hc-pause 'h["FailingStreak"]')" = 0 ]
  kiln unpause hc-pause
  last_end_is_not() { [ "$(health "$1" 'len(h["Log"]) and h["Log"][-1]["End"]')" != "$2" ]; }
  until_true 5 last_end_is_not hc-pause "$n"
  status_is hc-pause healthy
  kiln rm -f hc-pause
}

@test "exec gets the container's --ulimit and --group-add, and runs in its resource cgroups" {
  kiln run -d --name ex-res --ulimit nofile=100:200 --group-add 1234 -m 64m --pids-limit 50 busybox \
    sh -c 'cat /proc/self/cgroup > /tmp/main-cg; sleep 300'
  until_true 5 kiln exec ex-res test -s /tmp/main-cg
  [ "$(kiln exec ex-res sh -c 'ulimit -n; ulimit -Hn')" = "100
200" ]
  [[ " $(kiln exec ex-res id -G) " == *" 1234 "* ]]
  run kiln exec ex-res sh -c 'diff /tmp/main-cg /proc/self/cgroup'
  [ "$status" -eq 0 ]
  kiln rm -f ex-res
}
