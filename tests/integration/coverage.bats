#!/usr/bin/env bats
# Flags of `kiln COMMAND --help` that a user would reach for and that no other bats file
# ran end to end: what the user sees of each.

load helpers
load containers
bats_require_minimum_version 1.5.0

# helpers.bash's teardown, plus the registry a test may have started.
teardown() {
  [ -z "${REG_PID:-}" ] || { kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; }
  rm -rf "$TMP"
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

@test "attach --no-stdin: the container's output and exit code, none of your typing" {
  kiln run -dit --name nostdin busybox sh -c 'sleep 1; read -t 3 x; echo "got[$x]"; exit 7' >/dev/null
  run "$BATS_TEST_DIRNAME/tty_drive.py" --send '1.5:hello\r' -- "$KILN" attach --no-stdin nostdin
  [ "$status" -eq 7 ]
  [[ "$output" == *"got[]"* ]]
  # The same typing without --no-stdin reaches the command: the test above can fail.
  kiln run -dit --name withstdin busybox sh -c 'sleep 1; read -t 3 x; echo "got[$x]"; exit 7' >/dev/null
  run "$BATS_TEST_DIRNAME/tty_drive.py" --send '1.5:hello\r' -- "$KILN" attach withstdin
  [ "$status" -eq 7 ]
  [[ "$output" == *"got[hello]"* ]]
  kiln rm nostdin withstdin
}

@test "attach --sig-proxy=false: a signal to attach ends attach, not the container" {
  kiln run -dt --name proxy busybox sh -c 'trap "echo term; exit 9" TERM; while :; do echo tick; sleep 0.2; done' >/dev/null
  "$KILN" attach --sig-proxy=false proxy </dev/null >"$TMP/out" 2>&1 &
  local p=$!
  until_true 10 grep -q tick "$TMP/out"
  kill -TERM "$p"
  local rc=0
  wait "$p" || rc=$?
  [ "$rc" -eq 143 ]
  run kiln inspect -f '{{.State.Status}}' proxy
  [ "$output" = running ]
  # By default the signal is passed on: the command's trap runs and its code is attach's.
  "$KILN" attach proxy </dev/null >"$TMP/out" 2>&1 &
  p=$!
  until_true 10 grep -q tick "$TMP/out"
  kill -TERM "$p"
  rc=0
  wait "$p" || rc=$?
  [ "$rc" -eq 9 ]
  grep -q '^term' "$TMP/out"
  run kiln inspect -f '{{.State.Status}} {{.State.ExitCode}}' proxy
  [ "$output" = "exited 9" ]
  kiln rm proxy
}

@test "--tls-verify=false and manifest inspect --insecure: a registry whose certificate the given CAs did not sign" {
  command -v docker-registry >/dev/null || skip "no docker-registry"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TMP/key" -out "$TMP/crt" 2>/dev/null
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$TMP/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/data
http:
  addr: 127.0.0.1:$port
  tls:
    certificate: $TMP/crt
    key: $TMP/key
YML
  docker-registry serve "$TMP/config.yml" >"$TMP/registry.log" 2>&1 3>&- &
  REG_PID=$!
  until_true 10 curl -sk -o /dev/null "https://127.0.0.1:$port/v2/"
  local ref=127.0.0.1:$port/cov/bb:1
  # A loopback registry's certificate is not checked (docker's insecure 127.0.0.0/8) unless a
  # --cert-dir names the CAs to trust: then it is, and --tls-verify=false turns that off.
  mkdir -p "$TMP/wrong"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$TMP/wrong/ca.key" \
    -out "$TMP/wrong/ca.crt" 2>/dev/null
  run kiln push -q --cert-dir "$TMP/wrong" busybox "$ref"
  [ "$status" -ne 0 ]
  run kiln push -q --cert-dir "$TMP/wrong" --tls-verify=false busybox "$ref"
  [ "$status" -eq 0 ]
  [[ "$output" == sha256:* ]]
  run kiln manifest inspect --cert-dir "$TMP/wrong" "$ref"
  [ "$status" -ne 0 ]
  run kiln manifest inspect --cert-dir "$TMP/wrong" --insecure "$ref"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"schemaVersion": 2'* ]]
  run kiln pull -q --cert-dir "$TMP/wrong" --tls-verify=false "$ref"
  [ "$status" -eq 0 ]
  [ "$output" = "$ref" ]
  run kiln images --format '{{.Repository}}:{{.Tag}}'
  grep -qx "$ref" <<<"$output"
  # push --compression zstd: the registry gets zstd layers, and a pull reads them back.
  local zref=127.0.0.1:$port/cov/zst:1
  run kiln push -q --tls-verify=false --compression zstd busybox "$zref"
  [ "$status" -eq 0 ]
  run kiln manifest inspect --insecure "$zref"
  [ "$status" -eq 0 ]
  [[ "$output" == *'tar+zstd"'* ]]
  refute grep -q 'tar+gzip"' <<<"$output"
  run kiln manifest inspect --insecure "$ref"
  [[ "$output" != *'zstd'* ]]
  kiln rmi busybox:latest alpine:latest "$ref" >/dev/null
  run kiln pull -q --tls-verify=false "$zref"
  [ "$status" -eq 0 ]
  run kiln run --rm "$zref" echo from zstd
  [ "$output" = "from zstd" ]
  # The same image again (its config, so its id, is what was pushed): later tests keep busybox.
  kiln tag "$zref" busybox:latest
  kiln tag "$zref" alpine:latest
}

@test "build --compression zstd -o type=oci: every layer of the archive is zstd, and it loads back" {
  printf 'FROM busybox\nRUN echo hi > /hi\n' >"$CTX/Dockerfile"
  run kiln build -q --compression zstd -o "type=oci,dest=$TMP/o.tar" "$CTX"
  [ "$status" -eq 0 ]
  mkdir "$TMP/o"
  tar -xf "$TMP/o.tar" -C "$TMP/o"
  run python3 -c '
import json, sys
d = sys.argv[1]
ix = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + ix["manifests"][0]["digest"].split(":")[1]))
print(" ".join(sorted({l["mediaType"] for l in m["layers"]})))' "$TMP/o"
  [ "$output" = application/vnd.oci.image.layer.v1.tar+zstd ]
  run kiln load -q -i "$TMP/o.tar"
  [ "$status" -eq 0 ]
  run kiln build -q --compression brotli -o "type=oci,dest=$TMP/b.tar" "$CTX"
  [ "$status" -ne 0 ]
  [ ! -e "$TMP/b.tar" ]
}
