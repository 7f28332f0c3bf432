#!/usr/bin/env bats
# Files the user names for kiln to write: `save -o`, `build -o type=...,dest=`,
# `--iidfile`. A regular file appears whole or not at all; a named pipe is written in
# place; a device or a socket is refused as docker refuses it, and left as it was.
# The devices here are private copies (mknod under $TMP): a broken test can never
# damage the host's /dev/null.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
  # An image big enough that a save is still writing when it is killed: 64 MB that
  # no compression shrinks.
  big=$(mktemp -d)
  head -c $((64 << 20)) /dev/urandom > "$big/blob"
  "$KILN" import "$big" outfile/big:1 >/dev/null
  rm -rf "$big"
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

refused() { # refused PATH KIND: the message docker gives for a device or a socket
  echo "kiln: invalid output path: \"$1\" must be a directory or a regular file: got a $2"
}

# The names in DIR, one a line.
names() { ls -A "$1"; }

@test "save -o a device or a socket is refused with docker's message, and nothing changes" {
  mkdir "$TMP/out"
  mknod "$TMP/out/null" c 1 3
  run kiln save -o "$TMP/out/null" busybox
  [ "$status" -eq 1 ]
  [ "$output" = "$(refused "$TMP/out/null" device)" ]
  run kiln save --format oci-dir -o "$TMP/out/null" busybox
  [ "$status" -eq 1 ]
  [ "$output" = "$(refused "$TMP/out/null" device)" ]
  [ -c "$TMP/out/null" ]
  python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$TMP/out/sock"
  run kiln save -o "$TMP/out/sock" busybox
  [ "$status" -eq 1 ]
  [ "$output" = "$(refused "$TMP/out/sock" socket)" ]
  [ -S "$TMP/out/sock" ]
  [ "$(names "$TMP/out")" = "$(printf 'null\nsock')" ]
  # A symlink to a device is the device.
  ln -s null "$TMP/out/link"
  run kiln save -o "$TMP/out/link" busybox
  [ "$status" -eq 1 ]
  [[ "$output" == *"got a device" ]]
  [ -L "$TMP/out/link" ] && [ -c "$TMP/out/null" ]
}

@test "save -o a directory or into a missing directory is refused" {
  mkdir "$TMP/dir"
  run kiln save -o "$TMP/dir" busybox
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: invalid output path: \"$TMP/dir\" is a directory, not a file" ]
  [ -z "$(names "$TMP/dir")" ]
  run kiln save -o "$TMP/nowhere/x.tar" busybox
  [ "$status" -eq 1 ]
  [ "$output" = "kiln: invalid output path: directory \"$TMP/nowhere\" does not exist" ]
}

@test "save -o a named pipe writes the archive through it, and the pipe stays" {
  mkfifo "$TMP/pipe"
  timeout 60 cat "$TMP/pipe" > "$TMP/got.tar" &
  reader=$!
  run timeout 60 "$KILN" save -o "$TMP/pipe" busybox
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  wait "$reader"
  [ -p "$TMP/pipe" ]
  run env KILN_ROOT="$TMP/other" "$KILN" load -i "$TMP/got.tar"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$output" = "Loaded image: busybox:latest" ]
}

@test "save -o a file: made, replaced whole, through a symlink; nothing else beside it" {
  mkdir "$TMP/out"
  kiln save -o "$TMP/out/img.tar" busybox
  [ "$(stat -c %a "$TMP/out/img.tar")" = "$(printf '%o' $((0644 & ~$(umask))))" ]
  KILN_ROOT="$TMP/a" kiln load -q -i "$TMP/out/img.tar"
  kiln tag busybox outfile/other:2
  kiln save -o "$TMP/out/img.tar" outfile/other:2
  run env KILN_ROOT="$TMP/b" "$KILN" load -i "$TMP/out/img.tar"
  [ "$output" = "Loaded image: outfile/other:2" ]
  # docker opens the path: a symlink's target gets the archive, the link stays.
  ln -s img.tar "$TMP/out/link.tar"
  kiln save -o "$TMP/out/link.tar" busybox
  [ -L "$TMP/out/link.tar" ]
  run env KILN_ROOT="$TMP/c" "$KILN" load -i "$TMP/out/img.tar"
  [ "$output" = "Loaded image: busybox:latest" ]
  [ "$(names "$TMP/out")" = "$(printf 'img.tar\nlink.tar')" ]
}

@test "save -o killed with SIGKILL mid-write: the previous file stays whole, no temporary file is left" {
  mkdir "$TMP/out"
  kiln save -o "$TMP/out/img.tar" busybox
  before=$(sha256sum < "$TMP/out/img.tar")
  # SIGKILL once it has written into its output, wherever that is in the directory
  # (a save of 64 MB takes a tenth of a second: the watch cannot fork per look).
  run python3 - "$TMP/out" "$KILN" save -o "$TMP/out/img.tar" outfile/big:1 <<'PY'
import os, signal, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(cmd)
writing, deadline = False, time.monotonic() + 60
while not writing and p.poll() is None and time.monotonic() < deadline:
    try:
        for fd in os.listdir(f"/proc/{p.pid}/fd"):
            if os.readlink(f"/proc/{p.pid}/fd/{fd}").startswith(out + "/"):
                with open(f"/proc/{p.pid}/fdinfo/{fd}") as f:
                    writing = writing or int(f.readline().split()[1]) > 0
    except OSError:
        pass
if writing:
    p.send_signal(signal.SIGKILL)
print("killed while writing" if p.wait() == -signal.SIGKILL else f"not killed while writing: {p.returncode}")
PY
  [ "$output" = "killed while writing" ]
  [ "$(names "$TMP/out")" = img.tar ]
  [ "$(sha256sum < "$TMP/out/img.tar")" = "$before" ]
}

@test "build --iidfile and -o dest= a device are refused before the build, and the device stays" {
  mknod "$TMP/null" c 1 3
  printf 'FROM busybox\nRUN echo built > /b\n' > "$CTX/Dockerfile"
  for out in "--iidfile $TMP/null" "-o type=tar,dest=$TMP/null" "-o type=oci,dest=$TMP/null" \
             "-o type=docker,dest=$TMP/null" "-o type=local,dest=$TMP/null" "-o $TMP/null"; do
    run kiln build -q -t outfile/dev:1 $out "$CTX"
    [ "$status" -eq 1 ] || { echo "$out: $output"; false; }
    [ "$output" = "$(refused "$TMP/null" device)" ] || { echo "$out: $output"; false; }
    [ -c "$TMP/null" ]
  done
  refute kiln inspect outfile/dev:1 >/dev/null 2>&1
  [ "$(names "$TMP")" = "$(printf 'ctx\nnull')" ]
}

@test "build -o type=tar,dest= and --iidfile into named pipes write in place" {
  printf 'FROM busybox\nRUN echo built > /b\n' > "$CTX/Dockerfile"
  mkfifo "$TMP/fs" "$TMP/iid"
  timeout 60 cat "$TMP/fs" > "$TMP/fs.tar" &
  r1=$!
  timeout 60 cat "$TMP/iid" > "$TMP/iid.txt" &
  r2=$!
  run timeout 60 "$KILN" build -q --iidfile "$TMP/iid" -o type=tar,dest="$TMP/fs" "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  wait "$r1" "$r2"
  [ -p "$TMP/fs" ] && [ -p "$TMP/iid" ]
  [ "$(tar -xOf "$TMP/fs.tar" b)" = built ]
  [ "$(cat "$TMP/iid.txt")" = "$output" ]
}

@test "build -o - and -o type=tar,dest=- write the filesystem tar to standard output" {
  printf 'FROM busybox\nRUN echo built > /b\n' > "$CTX/Dockerfile"
  cd "$TMP"
  kiln build -o - "$CTX" > "$TMP/short.tar"
  kiln build -o type=tar,dest=- "$CTX" > "$TMP/long.tar"
  [ "$(tar -xOf "$TMP/short.tar" b)" = built ]
  cmp "$TMP/short.tar" "$TMP/long.tar"
  [ "$(names "$TMP")" = "$(printf 'ctx\nlong.tar\nshort.tar')" ]
}
