#!/usr/bin/env bats
# run's and create's --pull and --cidfile, and exec -t, as a docker user meets them.
# Offline: --pull is tested with images the store has or lacks, never pulled.
load helpers
load containers
bats_require_minimum_version 1.5.0


@test "--pull refuses a value docker refuses, with docker's message and 125" {
  run -125 kiln run --pull sometimes busybox true
  [[ "$output" == *"invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""* ]]
  [[ "$output" == *"See 'kiln run --help'."* ]]
  run -125 kiln create --pull "" busybox true
  [[ "$output" == *"invalid pull option: ''"* ]]
}

@test "--pull never runs an image the store has and fails on one it lacks, without pulling" {
  run -0 kiln run --rm --pull never busybox echo here
  [ "$output" = here ]
  run -125 kiln run --rm --pull never kiln-test/absent:1.0 true
  [[ "$output" == *"No such image: kiln-test/absent:1.0"* ]]
  [[ "$output" != *"Unable to find image"* ]]
  run -125 kiln run --rm --pull=never nothere true
  [[ "$output" == *"No such image: nothere:latest"* ]]
  run -1 kiln create --pull never nothere true
  [[ "$output" == *"No such image: nothere:latest"* ]]
  [ -z "$(kiln ps -aq)" ]
}

@test "--pull missing (the default) uses what the store has and tries to pull what it lacks" {
  run -0 kiln run --rm --pull missing busybox echo present
  [ "$output" = present ]
  # 127.0.0.1:9 refuses: the pull is tried, announced as docker does, and fails.
  run -125 kiln run --rm --pull missing 127.0.0.1:9/absent:1 true
  [[ "$output" == *"Unable to find image '127.0.0.1:9/absent:1' locally"* ]]
}

@test "--pull always pulls even when the store has the image" {
  kiln tag busybox 127.0.0.1:9/busybox:present
  run -0 kiln run --rm --pull never 127.0.0.1:9/busybox:present echo local
  [ "$output" = local ]
  # always goes to the registry first: with none there, the run fails.
  run -125 kiln run --rm --pull always 127.0.0.1:9/busybox:present echo local
  [[ "$output" != *"local"$'\n'* ]]
  [[ "$output" != *"Unable to find image"* ]]
}

@test "--cidfile writes the new container's id, run -d and create alike" {
  run -0 kiln run -d --name cid-run --cidfile "$TMP/run.cid" busybox sleep 30
  id=$output
  [ "$(cat "$TMP/run.cid")" = "$id" ]
  [ "$(wc -c < "$TMP/run.cid")" -eq 64 ]
  run -0 kiln create --name cid-create --cidfile "$TMP/create.cid" busybox true
  [ "$(cat "$TMP/create.cid")" = "$output" ]
  run -0 kiln run --rm --cidfile "$TMP/fg.cid" busybox echo fg
  [ "$output" = fg ]
  [ "$(wc -c < "$TMP/fg.cid")" -eq 64 ]
  kiln rm -f cid-run cid-create >/dev/null
}

@test "--pull and --cidfile are not taken for --cpus and --pids-limit (their option codes are apart)" {
  cd "$TMP"
  run -0 kiln create --name lim --cpus 1 --pids-limit 50 busybox true
  [ ! -e 50 ] && [ ! -e 1 ]
  [ "$(kiln inspect -f '{{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}' lim)" = "50 1000000000" ]
  kiln rm lim >/dev/null
}

@test "--cidfile refuses a file that exists, leaves it whole and creates nothing" {
  echo keep > "$TMP/old.cid"
  before=$(kiln ps -aq | wc -l)
  run -125 kiln run -d --cidfile "$TMP/old.cid" busybox sleep 30
  [[ "$output" == *"Container ID file found, make sure the other container isn't running or delete $TMP/old.cid"* ]]
  run -125 kiln create --cidfile "$TMP/old.cid" busybox true
  [[ "$output" == *"Container ID file found"* ]]
  [ "$(cat "$TMP/old.cid")" = keep ]
  [ "$(kiln ps -aq | wc -l)" -eq "$before" ]
  ln -s "$TMP/nowhere" "$TMP/dangling.cid"
  run -125 kiln run --rm --cidfile "$TMP/dangling.cid" busybox true
  [[ "$output" == *"Container ID file found"* ]]
  run -125 kiln run --rm --cidfile "$TMP/no/such/dir/x.cid" busybox true
  [ ! -e "$TMP/no" ]
}

@test "exec -t gives the command a pty of the container's devpts; its status is the command's" {
  kiln run -d --name ex-t busybox sleep 60 >/dev/null
  run -0 kiln exec -t ex-t tty
  [[ "$output" =~ ^/dev/pts/[0-9]+$'\r'?$ ]]
  run -3 kiln exec -t ex-t sh -c 'test -t 0 && test -t 1 && exit 3'
  # without -t, no terminal (as before)
  run -0 kiln exec ex-t sh -c 'test -t 1 || echo none'
  [ "$output" = none ]
  kiln rm -f ex-t >/dev/null
}

@test "exec -t in a run -t container gets a pty of its own beside the container's /dev/pts/0" {
  kiln run -dt --name ex-tt busybox sleep 60 >/dev/null
  run -0 kiln exec -t ex-tt tty
  [[ "$output" =~ ^/dev/pts/[1-9][0-9]*$'\r'?$ ]]
  kiln rm -f ex-tt >/dev/null
}

@test "exec -it: the caller's terminal raw, its size passed and followed, restored after" {
  kiln run -d --name ex-it busybox sleep 60 >/dev/null
  run -0 drive --rows 30 --cols 100 --send '1:stty size; exit 4\n' -- \
    sh -c "stty -g > $TMP/before; $KILN exec -it ex-it sh; echo rc=\$?; stty -g > $TMP/after"
  [[ "$output" == *"30 100"* ]]
  [[ "$output" == *"rc=4"* ]]
  [ "$(cat "$TMP/before")" = "$(cat "$TMP/after")" ]
  run -0 drive --resize 1:40x120 --send '0.5:sleep 2; stty size; exit\n' -- "$KILN" exec -it ex-it sh
  [[ "$output" == *"40 120"* ]]
  # killed from elsewhere: the terminal is given back all the same
  run -0 drive -- sh -c "stty -g > $TMP/before2; $KILN exec -it ex-it sh -c 'echo \$\$ > /tmp/p; exec sleep 31'; echo rc=\$?; stty -g > $TMP/after2" &
  until_true 10 kiln exec ex-it sh -c 'test -s /tmp/p && kill $(cat /tmp/p)'
  wait
  [ "$(cat "$TMP/before2")" = "$(cat "$TMP/after2")" ]
  run -1 kiln exec -it ex-it true </dev/null
  [[ "$output" == *"the input device is not a TTY"* ]]
  kiln rm -f ex-it >/dev/null
}

@test "--env-file that never ends (/dev/zero) is refused, not read until memory runs out" {
  run timeout 20 "$KILN" create --env-file /dev/zero --name envzero busybox true
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
  [[ "$output" == *"--env-file /dev/zero: larger than"* ]]
  run kiln inspect envzero
  [ "$status" -ne 0 ]
}
