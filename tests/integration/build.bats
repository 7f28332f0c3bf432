#!/usr/bin/env bats
# kiln build and kiln run as a user meets them: every instruction, the cache, the
# sandbox, outputs, and what another tool sees of the result.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
  podman rmi -f kiln-test/built:1 >/dev/null 2>&1 || true
}

cfg() { kiln inspect "$1" | /usr/bin/python3 -c "import json,sys; i=json.load(sys.stdin)[0]; c=i['Config']; print(json.dumps($2))"; }
df() { printf "$1" > "$CTX/Dockerfile"; }
executed() { grep -c ' DONE ' <<<"$1" || true; }

@test "config instructions become the image config, and write no layer" {
  df 'FROM busybox\nARG V=1.2\nENV APP_VERSION=$V PATH=/app:$PATH\nLABEL org.example.name="my app" version=$V\nUSER nobody:nobody\nWORKDIR /srv\nWORKDIR data\nEXPOSE 8080 53/udp\nVOLUME ["/data"]\nSTOPSIGNAL SIGQUIT\nSHELL ["/bin/sh", "-ec"]\nHEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD wget -q -O- localhost || exit 1\nENTRYPOINT ["/bin/echo"]\nCMD ["hello"]\nONBUILD RUN echo child\nMAINTAINER kiln tests\n'
  run kiln build -t cfg:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(cfg cfg:1 'c["Env"]')" = '["PATH=/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_VERSION=1.2"]' ]
  [ "$(cfg cfg:1 'c["Labels"]')" = '{"org.example.name": "my app", "version": "1.2"}' ]
  [ "$(cfg cfg:1 '[c["User"], c["WorkingDir"], c["StopSignal"]]')" = '["nobody:nobody", "/srv/data", "SIGQUIT"]' ]
  [ "$(cfg cfg:1 'sorted(c["ExposedPorts"])')" = '["53/udp", "8080/tcp"]' ]
  [ "$(cfg cfg:1 'c["Volumes"]')" = '{"/data": {}}' ]
  [ "$(cfg cfg:1 '[c["Entrypoint"], c["Cmd"], c["Shell"], c["OnBuild"]]')" = '[["/bin/echo"], ["hello"], ["/bin/sh", "-ec"], ["RUN echo child"]]' ]
  [ "$(cfg cfg:1 'c["Healthcheck"]')" = '{"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "Interval": 5000000000, "Timeout": 2000000000, "Retries": 4}' ]
  [ "$(cfg cfg:1 'i["Author"]')" = '"kiln tests"' ]
  # Only the two WORKDIRs made layers (their directories); config steps made none.
  [ "$(cfg cfg:1 'len(i["RootFS"]["Layers"])')" = 3 ]
  run kiln run --rm cfg:1
  [ "$output" = hello ]
  run kiln run --rm cfg:1 world
  [ "$output" = world ]
}

@test "ONBUILD triggers run when the image is used as a base" {
  df 'FROM busybox\nONBUILD RUN echo triggered > /onbuild.txt\n'
  kiln build -q -t parent:1 "$CTX" >/dev/null
  df 'FROM parent:1\nRUN cat /onbuild.txt\n'
  run kiln build -t child:1 "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"triggered"* ]]
  [ "$(cfg child:1 'c.get("OnBuild")')" = null ]
}

@test "RUN: shell and exec form, SHELL, heredocs, the step's user and directory" {
  df 'FROM busybox\nRUN echo shell > /a\nRUN ["sh", "-c", "echo exec > /b"]\nSHELL ["/bin/sh", "-e", "-c"]\nRUN echo shell2 > /c\nSHELL ["/bin/sh", "-c"]\nRUN <<EOF\necho heredoc > /d\nid -un >> /d\nEOF\nUSER nobody\nWORKDIR /tmp/w\nRUN pwd > /tmp/w/pwd && id -un >> /tmp/w/pwd\n'
  run kiln build -t runs:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm runs:1 sh -c 'cat /a /b /c /d /tmp/w/pwd'
  [ "$output" = "$(printf 'shell\nexec\nshell2\nheredoc\nroot\n/tmp/w\nnobody')" ]
}

@test "a step's command is found on the image's PATH, with a HOME default and the sandbox's hostname (no HOSTNAME variable, as BuildKit); a missing one is a clear error" {
  printf '#!/bin/sh\necho tool ran\n' > "$CTX/mytool"
  chmod 755 "$CTX/mytool"
  df 'FROM busybox\nCOPY mytool /opt/tools/\nENV PATH=/opt/tools:$PATH A=1\nENV A=2\nRUN ["mytool"]\nRUN mytool > /out && echo "$HOME $(env | grep -c ^HOSTNAME=) $(hostname) $A" >> /out\nUSER nobody\nRUN echo "$HOME" > /tmp/home\n'
  run kiln build -t pathy:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm pathy:1 sh -c 'cat /out /tmp/home'
  [ "$output" = "$(printf 'tool ran\n/root 0 buildkitsandbox 2\n/')" ]
  run kiln run --rm -e A=3 -e A=4 pathy:1 sh -c 'mytool; echo $A; env | grep -c "^A="'
  [ "$output" = "$(printf 'tool ran\n4\n1')" ]
  # docker's exit code for a command not found (bats's `run` warns on 127: captured by hand)
  status=0
  output=$(kiln run --rm pathy:1 nosuchtool 2>&1) || status=$?
  [ "$status" -eq 127 ]
  [[ "$output" == *"exec nosuchtool: No such file or directory"* ]]
  df 'FROM busybox\nRUN ["nosuchtool"]\n'
  run kiln build "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"exec nosuchtool: No such file or directory"* ]]
}

@test "a failing RUN names the step, the line, the exit code and the last output" {
  df 'FROM busybox\nRUN echo ok\nRUN echo about to fail && echo to stderr >&2 && exit 3\n'
  run kiln build "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"Dockerfile:3:1: process \"/bin/sh -c echo about to fail && echo to stderr >&2 && exit 3\" did not complete successfully: exit code: 3"* ]]
  [[ "$output" == *"last lines of its output:"*"about to fail"*"to stderr"* ]]
  run kiln images -q
  [[ "$output" != *"<none>"* ]]
  # What succeeded before the failure stays cached.
  df 'FROM busybox\nRUN echo ok\nRUN echo fixed > /f\n'
  run kiln build --progress=plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"RUN echo ok"*"CACHED"* ]]
  [ "$(executed "$output")" = 1 ]
}

@test "a build of more steps than are committed at once: every step's file, and a rebuild runs none" {
  # 130 layers of uncommitted trees would not fit one mount's options: only
  # commits during the build keep the chain mountable.
  { echo 'FROM busybox'; for i in $(seq 1 129); do echo "RUN echo step $i > /s$i"; done; echo 'RUN echo again > /s3'; } > "$CTX/Dockerfile"
  run kiln build --progress=plain -t many:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 130 ]
  run kiln run --rm many:1 sh -c 'cat /s1 /s33 /s64 /s129 /s3'
  [ "$output" = "$(printf 'step 1\nstep 33\nstep 64\nstep 129\nagain')" ]
  run kiln build --progress=plain -t many:1 "$CTX"
  [ "$(executed "$output")" = 0 ]
  run kiln system check
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the sandbox: namespaces, /proc /dev /sys, capabilities, no_new_privs, seccomp, network none" {
  df 'FROM busybox\nRUN echo $$ > /pid && ls /dev > /devs && cat /proc/self/status | grep -E "^(CapEff|NoNewPrivs|Seccomp):" > /status && (mount -t tmpfs x /mnt 2>/dev/null && echo mounted || echo refused) > /mount && ls /sys/class/net > /nets && (touch /sys/x 2>/dev/null && echo rw || echo ro) > /sysro && hostname > /host && (mknod /blk b 8 0 && (cat /blk >/dev/null 2>&1 && echo opened || echo "made, open refused")) > /blk.txt && mknod /chr c 1 3 && echo x > /dev/null\n'
  run kiln build --network none -t sandbox:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm sandbox:1 sh -c 'cat /pid; cat /devs | tr "\n" " "; echo; cat /status /mount /nets /sysro /host'
  [ "${lines[0]}" = 1 ] # the step's command is PID 1 of its namespace, as under BuildKit
  [[ "${lines[1]}" == *"full "*"null "*"pts random shm"*"tty urandom zero"* ]]
  [ "${lines[2]}" = "CapEff:	00000000a80425fb" ]
  [ "${lines[3]}" = "NoNewPrivs:	0" ] # docker does not set it: setuid programs work
  [ "${lines[4]}" = "Seccomp:	2" ]
  [ "${lines[5]}" = refused ]
  [ "${lines[6]}" = lo ]
  [ "${lines[7]}" = ro ]
  [ "${lines[8]}" = buildkitsandbox ]
  # A step may make device nodes (docker allows it) but not open one beyond docker's list.
  run kiln run --rm sandbox:1 sh -c 'cat /blk.txt; stat -c "%F %t:%T" /chr; ls -l /dev/null'
  [ "${lines[0]}" = "made, open refused" ]
  [ "${lines[1]}" = "character special file 1:3" ]
  [[ "${lines[2]}" == "crw-rw-rw-"*" 1, "*"3 "*/dev/null ]]
  # Mount points made for the step do not end up in the image.
  df 'FROM scratch\nCOPY --from=busybox /bin/busybox /bin/sh\nRUN ["/bin/sh", "-c", "echo hi > /f"]\n'
  kiln build -o type=local,dest="$TMP/out" "$CTX"
  [ "$(ls "$TMP/out" | tr '\n' ' ')" = "bin f " ]
}

@test "COPY and ADD: --chown by name, --chmod, --from stage and image, wildcards, archives, .dockerignore" {
  mkdir -p "$CTX/src/sub" "$CTX/ignored"
  echo a > "$CTX/src/a.txt"; echo b > "$CTX/src/b.txt"; echo c > "$CTX/src/sub/c.md"
  echo secret > "$CTX/ignored/x"; echo hidden > "$CTX/.env"
  printf 'ignored\n.env\n' > "$CTX/.dockerignore"
  mkdir -p "$TMP/t/inner"; echo packed > "$TMP/t/inner/p"; tar -C "$TMP/t" -czf "$CTX/pack.tgz" inner
  df 'FROM busybox AS base\nRUN adduser -D -u 2100 app\nCOPY --chown=app:app --chmod=0750 src/ /dst/\nCOPY src/*.txt /txt/\nADD pack.tgz /unpacked/\nCOPY --exclude=**/*.md src /excl\nRUN echo staged > /staged\nFROM busybox\nCOPY --from=base /staged /from-stage\nCOPY --from=busybox:latest /etc/group /from-image\nCOPY . /ctx\n'
  run kiln build -t copies:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  df 'FROM copies:1\n'
  run kiln build -o type=local,dest="$TMP/o2" -f "$CTX/Dockerfile" "$CTX"
  run kiln build --target base -o type=local,dest="$TMP/o" "$CTX/../ctx"
  df 'FROM busybox AS base\nRUN adduser -D -u 2100 app\nCOPY --chown=app:app --chmod=0750 src/ /dst/\nCOPY src/*.txt /txt/\nADD pack.tgz /unpacked/\nCOPY --exclude=**/*.md src /excl\n'
  kiln build -o type=local,dest="$TMP/o" "$CTX"
  [ "$(stat -c '%u:%g %a' "$TMP/o/dst/a.txt")" = "2100:2100 750" ]
  [ "$(stat -c '%a' "$TMP/o/dst/sub")" = 750 ]
  [ "$(ls "$TMP/o/txt" | tr '\n' ' ')" = "a.txt b.txt " ]
  [ "$(cat "$TMP/o/unpacked/inner/p")" = packed ]
  [ -f "$TMP/o/excl/a.txt" ] && [ ! -e "$TMP/o/excl/sub/c.md" ]
  run kiln run --rm copies:1 sh -c 'cat /from-stage; head -1 /from-image; ls -a /ctx | tr "\n" " "'
  [ "${lines[0]}" = staged ]
  [ "${lines[1]}" = "root:x:0:" ]
  [[ "${lines[2]}" != *ignored* ]] && [[ "${lines[2]}" != *.env* ]] && [[ "${lines[2]}" == *pack.tgz*src* ]]
}

@test "cache: a no-op rebuild runs nothing; a source edit reruns from its COPY; an ignored edit runs nothing" {
  mkdir -p "$CTX/app/lib"
  echo v1 > "$CTX/app/main.txt"; echo deps > "$CTX/deps.txt"; echo doc > "$CTX/README.md"
  for i in $(seq 1 60); do echo "$i" > "$CTX/app/lib/m$i.txt"; done  # many names: order must not matter
  printf 'README.md\n' > "$CTX/.dockerignore"
  df 'FROM busybox\nCOPY deps.txt /deps.txt\nRUN cat /deps.txt > /installed\nCOPY app /app\nRUN cat /app/main.txt > /built\nRUN echo done > /final\n'
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 5 ]
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 0 ]
  [ "$(grep -c CACHED <<<"$output")" = 5 ]
  echo changed > "$CTX/README.md"
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 0 ]
  touch "$CTX/deps.txt"  # a new mtime, the same content: still cached
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 0 ]
  echo v2 > "$CTX/app/main.txt"
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  [[ "$output" == *"COPY deps.txt /deps.txt"*"CACHED"* ]]
  run kiln run --rm cache:1 cat /built
  [ "$output" = v2 ]
  # Deep in a subdirectory, the same size: directories are remembered, files still count.
  echo 61 > "$CTX/app/lib/m61.txt"
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  printf '7\n' > "$CTX/app/lib/m8.txt" # was "8\n": same size
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  run kiln run --rm cache:1 cat /app/lib/m8.txt
  [ "$output" = 7 ]
  rm "$CTX/app/lib/m61.txt"
  run kiln build --progress=plain -t cache:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  run kiln run --rm cache:1 ls /app/lib/m61.txt
  [ "$status" -ne 0 ]
}

@test "cache: a symlinked source is keyed by its target in the context, absolute or ../ (an edit reruns the COPY)" {
  mkdir -p "$CTX/real" "$CTX/sub"
  echo one > "$CTX/real/a.txt"; echo uno > "$CTX/real/b.txt"
  ln -s /real/a.txt "$CTX/sub/abs"; ln -s ../real/b.txt "$CTX/sub/rel"
  df 'FROM busybox\nCOPY sub/abs /a\nCOPY sub/rel /b\n'
  run kiln build --progress=plain -t symsrc:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  echo two > "$CTX/real/a.txt"; echo dos > "$CTX/real/b.txt"
  run kiln build --progress=plain -t symsrc:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ "$(executed "$output")" = 2 ]
  run kiln run --rm symsrc:1 cat /a /b
  [ "$output" = "$(printf 'two\ndos')" ]
}

@test "cache: a build arg reruns only the steps that can see it; --no-cache reruns all and keeps cache mounts" {
  df 'FROM busybox\nRUN echo before > /a\nARG FLAVOR=plain\nRUN echo $FLAVOR > /b\nRUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /count\n'
  run kiln build --progress=plain -t args:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  run kiln build --progress=plain --build-arg FLAVOR=spicy -t args:1 "$CTX"
  [ "$(executed "$output")" = 2 ]
  [[ "$output" == *"RUN echo before > /a"*"CACHED"* ]]
  run kiln build --progress=plain --no-cache --build-arg FLAVOR=spicy -t args:1 "$CTX"
  [ "$(executed "$output")" = 3 ]
  run kiln run --rm args:1 sh -c 'cat /b /count'
  [ "${lines[0]}" = spicy ]
  [ "${lines[1]}" = 3 ]
}

@test "secrets reach RUN but never a layer, the history or the cache key" {
  printf "s3cr3t-value" > "$TMP/secret"
  df 'FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && test -s /run/secrets/tok && echo used > /used\nRUN --mount=type=secret,id=tok,env=TOKEN,required [ "$(printf %%s "$TOKEN" | md5sum | cut -c1-12)" = e74a7345b906 ]\n'
  run kiln build --secret id=tok,src="$TMP/secret" -t sec:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  kiln save -o "$TMP/img.tar" sec:1
  refute grep -a -q s3cr3t-value "$TMP/img.tar"
  refute grep -a -rq s3cr3t-value "$KILN_ROOT/blobs" "$KILN_ROOT/snapshots"
  refute grep -a -q s3cr3t-value "$KILN_ROOT/kiln.db"
  run kiln build -t sec:2 "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *'secret "tok" is required but was not given'* ]]
}

@test "--secret: env= and the id from the file name work; a bad --secret fails before any step runs" {
  printf "from-file" > "$TMP/tok"
  df 'FROM busybox\nRUN --mount=type=secret,id=tok,required --mount=type=secret,id=E,env=E,required [ "$(cat /run/secrets/tok)$E" = from-fileFROM-ENV ] && echo ok > /ok\n'
  E=FROM-ENV run kiln build --secret src="$TMP/tok" --secret id=E,env=E -t sec:3 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln build --progress=plain --secret id=x,bogus=1 "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *'--secret: unknown field "bogus=1" (id=, src=, env=)'* ]]
  [[ "$output" != *"#1 "* ]]
  run kiln build --secret id=x "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--secret needs id=NAME and src=FILE or env=VAR"* ]]
  run kiln build --secret id=x,src="$TMP/none" "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"--secret x: $TMP/none: No such file or directory"* ]]
  run env -u NOPE_UNSET "$KILN" build --secret id=y,env=NOPE_UNSET "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"--secret y: environment variable NOPE_UNSET is not set"* ]]
}

@test "SOURCE_DATE_EPOCH gives the same image digest twice" {
  echo x > "$CTX/f"
  df 'FROM busybox\nCOPY f /f\nRUN echo made > /made && sleep 1 && touch /new\n'
  a=$(SOURCE_DATE_EPOCH=1700000000 kiln build -q --no-cache "$CTX")
  b=$(SOURCE_DATE_EPOCH=1700000000 kiln build -q --no-cache "$CTX")
  [ "$a" = "$b" ]
  run kiln inspect "$a"
  [[ "$output" == *'"Created": "2023-11-14T22:13:20Z"'* ]]
}

@test "outputs: --iidfile, -q, a Dockerfile on stdin, --output local/tar/oci" {
  df 'FROM busybox\nRUN echo out > /o\n'
  run kiln build -q --iidfile "$TMP/iid" "$CTX"
  [ "$output" = "$(cat "$TMP/iid")" ]
  run sh -c "printf 'FROM busybox\nRUN echo stdin > /s\n' | '$KILN' build -q -"
  [[ "$output" =~ ^sha256: ]]
  kiln build -o type=tar,dest="$TMP/fs.tar" "$CTX"
  tar -tf "$TMP/fs.tar" | grep -qx o
  kiln build -t outs:1 -o type=oci,dest="$TMP/img.tar" "$CTX"
  skopeo inspect oci-archive:"$TMP/img.tar" >/dev/null
}

@test "kiln run: env, env-file, user, workdir, entrypoint, volumes, read-only, exit codes" {
  df 'FROM busybox\nENV A=image B=image\nWORKDIR /w\nCMD ["sh", "-c", "echo $A $B $C; pwd; id -un"]\n'
  kiln build -q -t runopts:1 "$CTX" >/dev/null
  printf 'B=file\n# comment\nC=file\n' > "$TMP/env"
  run kiln run --rm -e A=flag --env-file "$TMP/env" -u nobody -w /tmp runopts:1
  [ "$output" = "$(printf 'flag file file\n/tmp\nnobody')" ]
  mkdir -p "$TMP/vol"; echo host > "$TMP/vol/h"
  run kiln run --rm -v "$TMP/vol:/mnt/v:ro" runopts:1 sh -c 'cat /mnt/v/h; touch /mnt/v/x 2>/dev/null || echo ro'
  [ "$output" = "$(printf 'host\nro')" ]
  run kiln run --rm --read-only runopts:1 sh -c 'touch /x 2>/dev/null || echo readonly'
  [ "$output" = readonly ]
  run kiln run --rm --entrypoint /bin/echo runopts:1 via entrypoint
  [ "$output" = "via entrypoint" ]
  run kiln run --rm runopts:1 sh -c 'exit 42'
  [ "$status" -eq 42 ]
  run kiln run --rm --network none runopts:1 ls /sys/class/net
  [ "$output" = lo ]
  echo in | kiln run --rm -i runopts:1 cat > "$TMP/stdin-out"
  [ "$(cat "$TMP/stdin-out")" = in ]
}

@test "another tool runs what kiln built: kiln save, podman load, podman run print what kiln run prints" {
  df 'FROM busybox AS b\nRUN echo "built by kiln" > /msg\nFROM busybox\nCOPY --from=b /msg /msg\nCMD ["cat", "/msg"]\n'
  kiln build -q -t kiln-test/built:1 "$CTX" >/dev/null
  want=$(kiln run --rm kiln-test/built:1)
  [ "$want" = "built by kiln" ]
  kiln save -o "$TMP/b.tar" kiln-test/built:1
  podman load -q -i "$TMP/b.tar" >/dev/null
  run podman --runtime runc run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 kiln-test/built:1
  [ "$output" = "$want" ]
}

@test "ADD of an http(s) URL: downloaded (0600, not extracted), --checksum verified, cached by checksum" {
  mkdir -p "$TMP/www"
  printf 'remote content\n' > "$TMP/www/file.txt"
  tar -C "$TMP/www" -czf "$TMP/www/pack.tgz" file.txt
  port=$((20000 + RANDOM % 20000))
  (cd "$TMP/www" && exec timeout 120 python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
  srv=$!
  for i in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/file.txt" >/dev/null 2>&1 && break; sleep 0.1; done
  sum=$(sha256sum "$TMP/www/file.txt" | cut -c1-64)
  df "FROM busybox\nADD http://127.0.0.1:$port/file.txt /dl/\nADD --checksum=sha256:$sum http://127.0.0.1:$port/file.txt /dl/checked.txt\nADD http://127.0.0.1:$port/pack.tgz /dl/\n"
  run kiln build --progress=plain -t urls:1 "$CTX"
  [ "$status" -eq 0 ] || { kill $srv; echo "$output"; false; }
  run kiln run --rm urls:1 sh -c 'cat /dl/file.txt /dl/checked.txt; stat -c %a /dl/file.txt; ls /dl'
  [ "${lines[0]}" = "remote content" ] && [ "${lines[1]}" = "remote content" ] && [ "${lines[2]}" = 600 ]
  [[ "$output" == *pack.tgz* ]]
  # With --checksum a rebuild does not even download.
  run kiln build --progress=plain -t urls:1 "$CTX"
  [ "$(grep -c 'downloading.*checked' <<<"$output" || true)" = 0 ]
  # BuildKit's other algorithms are checked too.
  sum512=$(sha512sum "$TMP/www/file.txt" | cut -c1-128)
  df "FROM busybox\nADD --checksum=sha512:$sum512 http://127.0.0.1:$port/file.txt /x\n"
  run kiln build "$CTX"
  [ "$status" -eq 0 ] || { kill $srv; echo "$output"; false; }
  df "FROM busybox\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 http://127.0.0.1:$port/file.txt /x\n"
  run kiln build "$CTX"
  kill $srv 2>/dev/null || true
  [ "$status" -eq 1 ]
  [[ "$output" == *"checksum mismatch"* ]]
}

@test "signals: kiln run passes TERM to the container; an interrupted build stops cleanly" {
  "$KILN" run --rm busybox sh -c 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done' > "$TMP/run.log" 3>&- &
  pid=$!
  for i in $(seq 1 50); do grep -q ready "$TMP/run.log" && break; sleep 0.1; done
  kill -TERM "$pid"
  status=0; wait "$pid" || status=$?
  [ "$status" -eq 7 ]
  [ "$(tail -1 "$TMP/run.log")" = "got TERM" ]
  df 'FROM busybox\nRUN echo one > /one\nRUN sleep 30\nRUN echo never\n'
  "$KILN" build --no-cache "$CTX" > "$TMP/build.log" 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 100); do grep -q "sleep 30" "$TMP/build.log" && break; sleep 0.1; done
  kill -INT "$pid"
  status=0; wait "$pid" || status=$?
  [ "$status" -eq 1 ]
  refute grep -q never "$TMP/build.log"
  run kiln system check
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # Killed outright, kiln takes a step running as another user with it.
  df 'FROM busybox\nUSER nobody\nRUN sleep 37\n'
  "$KILN" build --no-cache "$CTX" > "$TMP/build.log" 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 100); do grep -q "sleep 37" "$TMP/build.log" && break; sleep 0.1; done
  sleep 0.3
  pgrep -x -f "sleep 37" >/dev/null
  kill -KILL "$pid"
  wait "$pid" || true
  for i in $(seq 1 20); do pgrep -x -f "sleep 37" >/dev/null || break; sleep 0.1; done
  refute pgrep -x -f "sleep 37"
}

@test "--runtime runc runs RUN steps and containers through a generated OCI bundle" {
  df 'FROM busybox\nRUN echo via runc > /r && id -u >> /r\nRUN --mount=type=cache,target=/c echo x >> /c/log\nUSER nobody\nRUN id -un > /tmp/who\nCMD ["sh", "-c", "cat /r /tmp/who; grep NoNewPrivs /proc/self/status"]\n'
  run kiln build --no-cache --runtime runc -t viarunc:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm --runtime runc viarunc:1
  [ "$output" = "$(printf 'via runc\n0\nnobody\nNoNewPrivs:\t0')" ]
  run kiln run --rm --runtime runc viarunc:1 sh -c 'exit 5'
  [ "$status" -eq 5 ]
}

@test "independent stages build at the same time; a failure in one names its step and stops the build" {
  [ "$(nproc)" -ge 2 ] || skip "one core: stages build one after the other"
  # Each stage leaves a mark in a shared cache mount and waits up to 10 s for the
  # other's: built one after the other, the first would give up and fail.
  meet='RUN --mount=type=cache,id=meet,target=/m touch /m/%s && i=0 && while [ ! -e /m/%s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && [ -e /m/%s ] && echo %s > /%s'
  df "FROM busybox AS a\n$(printf "$meet" a b b a a)\nFROM busybox AS b\n$(printf "$meet" b a a b b)\nFROM busybox AS unused\nRUN false\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCMD cat /a /b\n"
  run kiln build -t par:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  # Each stage is printed once, by the process that built it.
  [ "$(grep -c 'RUN --mount' <<<"$output")" -eq 2 ]
  [ "$(grep -c ' DONE ' <<<"$output")" -eq 4 ]
  run kiln run --rm par:1
  [ "$output" = "a
b" ]
  # A failing stage stops the build with its own error, and no image is named.
  df 'FROM busybox AS a\nRUN echo ok > /a\nFROM busybox AS b\nRUN echo boom && exit 3\nFROM busybox\nCOPY --from=a /a /a\nCOPY --from=b / /b\n'
  run kiln build -t par:2 "$CTX"
  [ "$status" -ne 0 ]
  grep -q 'Dockerfile:4:1: process "/bin/sh -c echo boom && exit 3" did not complete successfully: exit code: 3' <<<"$output"
  run kiln inspect par:2
  [ "$status" -ne 0 ]
}

@test "progress: a terminal gets the live view of each RUN's output; plain and pipes get lines" {
  df 'FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8; do echo out $i; done; printf "\\033[31mred\\n"; sleep 0.5\n'
  # --progress tty: the view (progress.bats) shows the last 6 lines under the running
  # step, redrawn in place (cursor up, erase); the step's own escape sequences are defused.
  run kiln build --no-cache --progress tty -t prog:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  grep -q ' => => # out 8' <<<"$output"
  grep -q ' => => # ?\[31mred' <<<"$output"
  refute grep -q $'\e\\[31mred' <<<"$output"
  grep -q $'\e\\[[0-9]*A\r\e\\[J\\[+\\] Building .* FINISHED' <<<"$output"
  # auto on a terminal is the live view; auto into a pipe and plain are lines.
  run script -qec "$KILN --root $KILN_ROOT build --no-cache -t prog:1 $CTX" /dev/null
  grep -q $'\e\\[[0-9]*A' <<<"$output"
  run kiln build --no-cache -t prog:1 "$CTX"
  refute grep -q $'\e\\[[0-9]*A' <<<"$output"
  grep -q '^#2 0\.[0-9]* out 8$' <<<"$output"
  run script -qec "$KILN --root $KILN_ROOT build --no-cache --progress plain -t prog:1 $CTX" /dev/null
  refute grep -q $'\e\\[[0-9]*A' <<<"$output"
}

@test "--label overrides the Dockerfile's LABEL; -o type=docker writes an archive another store loads and runs" {
  df 'FROM busybox\nLABEL a=1\nRUN echo hi > /hi\n'
  run kiln build -q --label b=2 --label a=3 -o type=docker,dest="$TMP/img.tar" -t lbl:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  tar tf "$TMP/img.tar" | grep -qx manifest.json
  run env KILN_ROOT="$TMP/other" "$KILN" load -i "$TMP/img.tar"
  [ "$output" = "Loaded image: lbl:1" ]
  [ "$(KILN_ROOT="$TMP/other" cfg lbl:1 'c["Labels"]')" = '{"a": "3", "b": "2"}' ]
  run env KILN_ROOT="$TMP/other" "$KILN" run --rm lbl:1 cat /hi
  [ "$output" = hi ]
}

@test "system df counts the layers only the build cache keeps; prune reports what it frees on disk" {
  export KILN_ROOT=$TMP/dfstore
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" --root "$KILN_ROOT" >/dev/null
  df 'FROM busybox\nRUN head -c 20000000 /dev/urandom > /big\n'
  id=$(kiln build -q "$CTX")
  kiln rmi "$id" >/dev/null
  run kiln system df
  [ "$status" -eq 0 ]
  read -r _ _ total active size recl <<<"$(grep '^Build Cache' <<<"$output")"
  [ "$total" = 1 ] && [ "$size" = 20MB ] && [ "$recl" = 20MB ] || { echo "$output"; false; }
  before=$(du -sB1 "$KILN_ROOT" | cut -f1)
  run kiln system prune -f
  [ "$status" -eq 0 ]
  after=$(du -sB1 "$KILN_ROOT" | cut -f1)
  reported=$(sed -n 's/^Total reclaimed space: //p' <<<"$output")
  python3 - "$reported" "$((before - after))" <<'PY' || { echo "$output"; false; }
import re, sys
n, unit = re.fullmatch(r"([0-9.]+)([kMG]?B)", sys.argv[1]).groups()
reported = float(n) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
freed = int(sys.argv[2])
assert freed > 19e6 and abs(reported - freed) <= 0.02 * freed, (reported, freed)
PY
  run kiln system df
  read -r _ _ total active size recl <<<"$(grep '^Build Cache' <<<"$output")"
  [ "$total" = 0 ] && [ "$size" = 0B ] || { echo "$output"; false; }
}

@test "a WORKDIR nested deeper than 1024 levels is refused with its Dockerfile line" {
  python3 -c 'import sys; open(sys.argv[1], "w").write("FROM busybox\nRUN true\nWORKDIR /" + "/".join(["d"] * 1100) + "\n")' "$CTX/Dockerfile"
  run kiln build "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$CTX/Dockerfile:3:1: "*": directories nested deeper than 1024 levels"* ]] || { echo "${output:0:600}"; false; }
  [[ "$output" == *"    WORKDIR /d/d/d"* ]]
}

@test "more layers than one overlay mount stacks: a clear error naming the limit, at the step's line" {
  # 190 layers fit whatever batch of steps is still uncommitted.
  { echo 'FROM busybox'; for i in $(seq 1 189); do echo "RUN echo $i > /f$i"; done; } > "$CTX/Dockerfile"
  run kiln build -q -t layers:190 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  { echo 'FROM busybox'; for i in $(seq 1 230); do echo "RUN echo $i > /f$i"; done; } > "$CTX/Dockerfile"
  run kiln build -q "$CTX"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" =~ ^"$CTX/Dockerfile:"(19[0-9]|20[0-9]):1:" the image has "[0-9]+" layers, more than the "[0-9]+" or so an overlay mount can stack here" ]] || { echo "$output"; false; }
  [[ "$output" == *"one page of mount options"*"combine steps"* ]]
}

@test "COPY --from a scratch stage copies nothing and works, onto an image or onto scratch" {
  df 'FROM scratch AS s0\nFROM busybox\nCOPY --from=s0 / /\nRUN test -x /bin/sh\n'
  run kiln build -q -t fromscratch:1 "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  df 'FROM scratch AS s0\nFROM scratch\nCOPY --from=s0 / /\n'
  run kiln build -q -o "type=local,dest=$TMP/out" "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [ -d "$TMP/out" ] && [ -z "$(ls -A "$TMP/out")" ]
}

@test "two RUN steps with a locked cache mount: the second gets the lock (no helper process holds it)" {
  df 'FROM busybox\nRUN --mount=type=cache,target=/c,sharing=locked touch /c/a\nRUN --mount=type=cache,target=/c,sharing=locked ls /c\n'
  run timeout 60 "$KILN" build --no-cache --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"#3 "*" a"* ]]
}

@test "one RUN with two locked mounts of the same cache: both see it, the step does not wait for itself" {
  df 'FROM busybox\nRUN --mount=type=cache,id=twice,target=/a,sharing=locked --mount=type=cache,id=twice,target=/b,sharing=locked sh -c "echo shared > /a/f && cat /b/f"\n'
  run timeout 60 "$KILN" build --no-cache --progress plain "$CTX"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *"#2 "*" shared"* ]]
}

@test "a context deeper than kiln walks: RUN's context bind fails with an error, and frees what it held" {
  # (The ASan pass of the suite checks the freeing: the mount's slot once leaked.)
  local p=$CTX
  for _ in $(seq 1 520); do p=$p/d; done
  mkdir -p "$p"
  df 'FROM busybox\nRUN --mount=type=bind,target=/m true\n'
  run kiln build "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"too deep"* ]]
  rm -rf "$CTX/d"
}
