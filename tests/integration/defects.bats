#!/usr/bin/env bats
# Issue 12's defects: Dockerfiles that BuildKit builds one way and kiln built
# another. Each test failed before its fix.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

cfg() { kiln inspect "$1" | /usr/bin/python3 -c "import json,sys; i=json.load(sys.stdin)[0]; c=i['Config']; print(json.dumps($2))"; }
df() { printf "$1" > "$CTX/Dockerfile"; }
build() { run kiln build "$@"; [ "$status" -eq 0 ] || { echo "$output"; false; }; }

@test "COPY of a symlink inside a directory follows it: absolute, relative, a chain, to a directory, in the context" {
  df 'FROM busybox AS b\nRUN mkdir -p /usr/share/zi/Etc /real/sub /d && echo utc > /usr/share/zi/UTC && ln -s ../UTC /usr/share/zi/Etc/UTC && ln -sf /usr/share/zi/Etc/UTC /etc/localtime && echo in > /real/sub/f && ln -s /etc/passwd /d/abs && ln -s ../real/sub /d/rel\nFROM busybox\nCOPY --from=b /d/abs /x\nCOPY --from=b /d/rel /y\nCOPY --from=b /etc/localtime /lt\nCOPY --from=b /d/ /keep/\nCOPY sub/lnk /c\n'
  mkdir "$CTX/sub"; echo ctx > "$CTX/sub/real"; ln -s real "$CTX/sub/lnk"
  build -q -t links:1 "$CTX"
  run kiln run --rm links:1 sh -c 'head -1 /x; cat /y/f /lt /c; test -f /x && test -d /y && test -f /lt; readlink /keep/abs; readlink /keep/rel'
  [ "$output" = "$(printf 'root:x:0:0:root:/root:/bin/sh\nin\nutc\nctx\n/etc/passwd\n../real/sub')" ]
}

@test "FROM scratch gets BuildKit's default PATH and WorkingDir /" {
  df 'FROM scratch\nCOPY --from=busybox /bin/busybox /bin/sh\n'
  build -q -t scratchcfg:1 "$CTX"
  [ "$(cfg scratchcfg:1 '[c["Env"], c["WorkingDir"]]')" = '[["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "/"]' ]
}

@test "COPY --from=\$V with ARG V declared inside the stage builds that stage" {
  df 'FROM busybox AS build\nRUN echo built > /o\nFROM busybox\nARG V=build\nCOPY --from=$V /o /o\nRUN cat /o\n'
  build --progress plain "$CTX"
  [[ "$output" == *"built"* ]]
  # and --build-arg picks another stage
  df 'FROM busybox AS one\nRUN echo one > /o\nFROM busybox AS two\nRUN echo two > /o\nFROM busybox\nARG V=one\nCOPY --from=${V} /o /o\nRUN cat /o\n'
  build --progress plain --build-arg V=two "$CTX"
  [[ "$output" == *"#"*" two"* ]]
}

@test "RUN --mount=type=bind,from= (empty) binds the context" {
  echo hello-ctx > "$CTX/f"
  df 'FROM busybox\nRUN --mount=type=bind,from=,target=/m cat /m/f\n'
  build --progress plain "$CTX"
  [[ "$output" == *"hello-ctx"* ]]
}

@test "a heredoc that starts with #! runs through that interpreter" {
  df 'FROM busybox\nRUN <<EOF\n#!/bin/cat\nthis is printed, not run\nEOF\nRUN <<EOT\n#!/bin/sh -e\necho "script: $0" > /script\nEOT\n'
  build --progress plain -t shebang:1 "$CTX"
  [[ "$output" == *"this is printed, not run"* ]]
  run kiln run --rm shebang:1 cat /script
  [ "$output" = "script: /dev/pipes/EOT" ]
  # the script is in the cache key: another body runs again
  df 'FROM busybox\nRUN <<EOF\n#!/bin/cat\nanother body\nEOF\n'
  build --progress plain "$CTX"
  [[ "$output" == *"another body"* ]]
}

@test "an image whose layer list repeats a layer runs; a step that changes nothing keeps an empty layer, as BuildKit" {
  df 'FROM busybox\nRUN echo x > /f\nRUN echo x > /f\n'
  SOURCE_DATE_EPOCH=0 run kiln build -q --no-cache -t repeated:1 "$CTX"
  [ "$status" -eq 0 ]
  [ "$(cfg repeated:1 'len(set(i["RootFS"]["Layers"])) < len(i["RootFS"]["Layers"])')" = true ]
  run kiln run --rm repeated:1 cat /f
  [ "$status" -eq 0 ]
  [ "$output" = x ]
  # One layer per RUN, COPY and WORKDIR other than / (BuildKit's commitToHistory), empty
  # when the step changed nothing: no mount points, nor their parents, left in it.
  df 'FROM busybox\nRUN true\nRUN --mount=type=cache,target=/var/cache/x --mount=type=tmpfs,target=/a/b/c --mount=type=bind,target=/etc/ctx true\nWORKDIR /\nWORKDIR /etc\n'
  build -q --no-cache -t noop:1 "$CTX"
  empty=sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef # a tar of no entries
  [ "$(cfg noop:1 '[l == "'$empty'" for l in i["RootFS"]["Layers"]]')" = '[false, true, true, true]' ]
  run kiln history --no-trunc --format '{{.CreatedBy}}' noop:1
  [ "${lines[0]}" = "WORKDIR /etc" ]
  [ "${lines[1]}" = "WORKDIR /" ]
  run kiln save -o "$TMP/noop.tar" noop:1
  [ "$status" -eq 0 ]
  [ -z "$(tar -xOf "$TMP/noop.tar" "blobs/sha256/${empty#sha256:}" | tar -t)" ]
  # a cached rebuild gives the same image
  id=$(kiln inspect -f '{{.Id}}' noop:1)
  build -q "$CTX"
  [ "$output" = "$id" ]
}

@test "-o type=tar and type=local keep hardlinks; an image with no layers exports empty" {
  df 'FROM busybox\nRUN mkdir /h && echo a > /h/a && ln /h/a /h/b\n'
  build -q -o "type=tar,dest=$TMP/out.tar" "$CTX"
  tar tvf "$TMP/out.tar" | grep -q '^h.* h/b link to h/a$'
  build -q -o "type=local,dest=$TMP/out" "$CTX"
  [ "$(stat -c %i "$TMP/out/h/a")" = "$(stat -c %i "$TMP/out/h/b")" ]
  [ "$(stat -c %h "$TMP/out/h/a")" = 2 ]
  df 'FROM scratch\n'
  build -q -o "type=tar,dest=$TMP/empty.tar" "$CTX"
  [ -z "$(tar tf "$TMP/empty.tar")" ]
  build -q -o "type=local,dest=$TMP/empty" "$CTX"
  [ -z "$(ls -A "$TMP/empty")" ]
}

@test "a heredoc RUN stays one row in history (newlines shown as \\n)" {
  df 'FROM busybox\nRUN <<EOF\necho a\necho b\nEOF\n'
  build -q -t hdhist:1 "$CTX"
  run kiln history --no-trunc hdhist:1
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[1]}" == *'RUN /bin/sh -c echo a\necho b\n # buildkit'* ]]
  run kiln history hdhist:1
  [ "${#lines[@]}" -eq 3 ]
}

@test "WORKDIR and COPY into a dangling symlink make its target and keep the link" {
  df 'FROM busybox\nRUN ln -s /nowhere /link\nWORKDIR /link\nCOPY Dockerfile /link/\n'
  build -q -t dangling:1 "$CTX"
  run kiln run --rm dangling:1 sh -c 'readlink /link; test -f /nowhere/Dockerfile && echo copied'
  [ "$output" = "$(printf '/nowhere\ncopied')" ]
}

@test "RUN --mount=type=cache,from=STAGE,source=DIR starts the cache as a copy of that directory" {
  df 'FROM busybox AS s\nRUN mkdir -p /seed/sub && echo seeded > /seed/sub/f\nFROM busybox\nRUN --mount=type=cache,target=/c,from=s,source=/seed cat /c/sub/f && echo more > /c/added\nRUN --mount=type=cache,target=/c,from=s,source=/seed cat /c/added\nRUN --mount=type=cache,target=/c,uid=7,mode=0700 stat -c "%%u %%a" /c && ls /c | wc -l\n'
  build --progress plain "$CTX"
  [[ "$output" == *"seeded"* ]]
  [[ "$output" == *"#"*" more"* ]]
  [[ "$output" == *"#"*" 7 700"* ]]
}

@test "RUN --mount=type=cache,sharing=private: a second writer gets its own instance while the first holds it" {
  mkdir "$TMP/a" "$TMP/b"
  printf 'FROM busybox\nRUN --mount=type=cache,target=/c,sharing=private,id=priv touch /c/a && sleep 5 && echo A-sees $(ls /c)\n' > "$TMP/a/Dockerfile"
  printf 'FROM busybox\nRUN --mount=type=cache,target=/c,sharing=private,id=priv touch /c/b && echo B-sees $(ls /c)\n' > "$TMP/b/Dockerfile"
  kiln build --no-cache --progress plain "$TMP/a" > "$TMP/a.out" 2>&1 &
  local pid=$! i=0
  until ls "$KILN_ROOT"/cache/*/a >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
  run kiln build --no-cache --progress plain "$TMP/b"
  wait "$pid"
  [[ "$output" == *"B-sees b"* ]] || { echo "$output"; false; }
  grep -q 'A-sees a$' "$TMP/a.out"
  # alone, a private writer gets the first instance back
  run kiln build --no-cache --progress plain "$TMP/b"
  [[ "$output" == *"B-sees a b"* ]] || { echo "$output"; false; }
}

@test "COPY --from keeps the hardlinks among the files it copies, as BuildKit" {
  df 'FROM busybox AS b\nRUN mkdir -p /h/d && echo a > /h/a && ln /h/a /h/b && ln /h/a /h/d/c\nFROM busybox\nCOPY --from=b /h /x\n'
  build -q -t hardlinks:1 "$CTX"
  run kiln run --rm hardlinks:1 sh -c 'stat -c "%h %i" /x/a /x/b /x/d/c | sort -u | wc -l; stat -c %h /x/a'
  [ "$output" = "$(printf '1\n3')" ]
}

@test "the image config and history are BuildKit's: ArgsEscaped on CMD, ARG in the history, ONBUILD only in the config, CMD [] left out" {
  df 'FROM busybox\nARG A=1 B\nONBUILD RUN echo later\nCMD echo hi\n'
  build -q --build-arg B=2 -t bkcfg:1 "$CTX"
  [ "$(cfg bkcfg:1 '[c.get("ArgsEscaped"), c["Cmd"], c["OnBuild"]]')" = '[true, ["/bin/sh", "-c", "echo hi"], ["RUN echo later"]]' ]
  run kiln history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' bkcfg:1
  [ "${lines[0]}" = 'CMD ["/bin/sh" "-c" "echo hi"]|0B' ] || { echo "$output"; false; }
  [ "${lines[1]}" = 'ARG A=1 B=2|0B' ]
  [ "${#lines[@]}" -eq 3 ]
  df 'FROM bkcfg:1\nCMD []\nENTRYPOINT []\n'
  build -q -t bkcfg:2 "$CTX"
  run kiln save -o "$TMP/bkcfg.tar" bkcfg:2
  [ "$status" -eq 0 ]
  conf=$(tar -xOf "$TMP/bkcfg.tar" manifest.json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')
  [ "$(tar -xOf "$TMP/bkcfg.tar" "$conf" | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; print(sorted(k for k in ("Cmd", "Entrypoint") if k in c))')" = '[]' ]
}

@test "RUN has the sandbox's hostname but no HOSTNAME variable, as BuildKit" {
  df 'FROM busybox\nRUN { env | grep ^HOSTNAME= || echo unset; hostname; } > /h\n'
  build -q -t hostenv:1 "$CTX"
  run kiln run --rm hostenv:1 cat /h
  [ "$output" = "$(printf 'unset\nbuildkitsandbox')" ]
}
