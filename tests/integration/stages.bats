#!/usr/bin/env bats
# The stage model as a user meets it through `kiln debug stages`: expansion, ARG
# scoping, --target pruning, and the errors a Dockerfile can earn at its line.
load helpers

write() { printf "$1" > "$CTX/Dockerfile"; }

@test "global ARGs expand FROM; a stage sees them only after ARG NAME" {
  write 'ARG BASE=busybox\nARG TAG=1.36\nFROM ${BASE}:${TAG} AS a\nRUN echo\nENV X=${TAG}-\nARG TAG\nENV Y=${TAG}\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [ "${lines[2]}" = '# global ARG BASE="busybox"' ]
  [ "${lines[4]}" = 'stage 0 a: FROM "busybox:1.36" AS a (image)' ]
  [ "${lines[6]}" = '  5: ENV X="-"' ]
  [ "${lines[7]}" = '  6: ARG TAG="1.36"' ]
  [ "${lines[8]}" = '  7: ENV Y="1.36"' ]
}

@test "--build-arg overrides defaults; ENV wins over ARG; unused build args warn" {
  write 'FROM busybox\nARG V=1\nENV A=$V\nENV V=env\nARG V=2\nENV B=$V\n'
  run kiln debug stages --build-arg V=9 --build-arg NOPE=1 "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [[ "$output" == *'  3: ENV A="9"'* ]]
  [[ "$output" == *'  6: ENV B="env"'* ]]
  [[ "$output" == *"warning: build-arg NOPE was given but no ARG in the stages built declares it"* ]]
}

@test "ENV expands every pair with the environment from before the instruction" {
  write 'FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n'
  run kiln debug stages "$CTX/Dockerfile"
  [[ "$output" == *'  3: ENV abc="bye" def="hello"'* ]]
  [[ "$output" == *'  4: ENV ghi="bye"'* ]]
}

@test "automatic platform ARGs follow --platform; BUILDPLATFORM stays the host" {
  write 'FROM --platform=$BUILDPLATFORM busybox AS b\nARG TARGETOS TARGETARCH TARGETVARIANT\nRUN echo\n'
  run kiln debug stages --platform linux/arm/v7 "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == "# platform: linux/arm/v7 (build: linux/"* ]]
  [[ "$output" == *'ARG TARGETOS="linux" TARGETARCH="arm" TARGETVARIANT="v7"'* ]]
  [[ "$output" != *'--platform=$BUILDPLATFORM'* ]]
  run kiln debug stages --platform linux "$CTX/Dockerfile"
  [ "$status" -eq 2 ]
  [[ "$output" == *'invalid platform "linux"'* ]]
}

@test "--target keeps only the stages it needs, in build order" {
  write 'FROM busybox AS base\nRUN a\nFROM busybox AS unused\nRUN b\nFROM base AS deps\nRUN c\nFROM scratch AS final\nCOPY --from=deps /x /x\nRUN --mount=type=bind,from=base,target=/m true\n'
  run kiln debug stages --target final "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  run grep -c '^stage' <<<"$output"
  [ "$output" = 3 ]
  run kiln debug stages --target final "$CTX/Dockerfile"
  [[ "$output" == *'stage 0 base'* ]]
  [[ "$output" != *'unused'* ]]
  [[ "$output" == *'stage 2 deps: FROM "base" AS deps (stage 0)'* ]]
  [[ "$output" == *'stage 3 final: FROM "scratch" AS final (scratch)'* ]]
}

@test "stage errors: unknown target, duplicate name, later stage, typo, bad index" {
  write 'FROM busybox AS builder\nFROM scratch AS production\n'
  run kiln debug stages --target prodution "$CTX/Dockerfile"
  [ "$status" -eq 2 ]
  [ "$output" = 'kiln: target stage "prodution" could not be found (did you mean "production"?)' ]

  write 'FROM busybox AS app\nFROM scratch AS app\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$CTX/Dockerfile:2:17: duplicate stage name \"app\" (first used at line 1)" ]

  write 'FROM busybox AS one\nCOPY --from=two /a /b\nFROM busybox AS two\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *':2:13: cannot copy from stage "two", it needs to be defined before current stage "one"'* ]]

  write 'FROM busybox AS builder\nFROM scratch\nCOPY --from=buidler /a /b\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *':3:13: unknown stage "buidler" (did you mean "builder"?)' ]]

  write 'FROM busybox AS me\nCOPY --from=me /a /b\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *':2:13: stage "me" refers to itself'* ]]

  write 'FROM busybox\nCOPY --from=3 /a /b\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *'stage 3 does not exist'* ]]

  write 'FROM builder AS x\nFROM busybox AS builder\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *':1:6: FROM builder: stage "builder" is defined after this one'* ]]
}

@test "COPY --from an image reference is an image, not a stage" {
  write 'FROM busybox\nCOPY --from=nginx:1.27 /etc/nginx/nginx.conf /n.conf\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [[ "$output" == *'COPY --from=nginx:1.27 ["/etc/nginx/nginx.conf"] "/n.conf"'* ]]
}

@test "instruction errors are reported at their line with a hint" {
  write 'FROM busybox\nRUNN echo hi\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$CTX/Dockerfile:2:1: unknown instruction \"RUNN\" (did you mean \"RUN\"?)" ]
  [ "${lines[1]}" = "    RUNN echo hi" ]
  [ "${lines[2]}" = "    ^" ]

  write 'FROM busybox\nCOPY --chown=app --form=b a b\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "${lines[0]}" = "$CTX/Dockerfile:2:18: unknown flag \"--form\" for COPY (did you mean \"--from\"?)" ]

  for bad in 'HEALTHCHECK --interval=5x CMD true|not a duration' \
             'HEALTHCHECK --retries=-1 CMD true|--retries must be a non-negative number' \
             'COPY --chmod=888 a b|invalid --chmod' \
             'EXPOSE 80/tcpx|invalid port "80/tcpx"' \
             'STOPSIGNAL SIGNOPE|is not a signal' \
             'RUN --network=bridge true|--network must be default, none or host' \
             'RUN --mount=type=cache,sharing=all,target=/c true|sharing must be shared, private or locked' \
             'RUN --mount=type=secret true|needs an id' \
             'SHELL /bin/bash -c|SHELL needs the JSON form' \
             'ONBUILD FROM busybox|not allowed as an ONBUILD trigger' \
             'USER|USER needs a value' \
             'COPY onlyone|needs at least one source and a destination' \
             'ENV a=1 b|can'"'"'t find = in "b"' \
             'MAINTAINER --x me|MAINTAINER takes no flags'; do
    write "FROM busybox\n${bad%%|*}\n"
    run kiln debug stages "$CTX/Dockerfile"
    [ "$status" -eq 1 ] || { echo "accepted: ${bad%%|*}"; false; }
    [[ "${lines[0]}" == "$CTX/Dockerfile:2:"*"${bad#*|}"* ]] || { echo "got: ${lines[0]}"; false; }
  done
}

@test "a --chown ID that does not fit 32 bits is refused at its line, not wrapped" {
  write 'FROM busybox\nCOPY --chown=99999999999 a /a\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$CTX/Dockerfile:2:6: invalid --chown \"99999999999\": user ID 99999999999 is out of range (IDs go from 0 to 4294967294)" ]
  [ "${lines[2]}" = "         ^" ]
  # After expansion too, and for the group; the largest valid ID and names pass.
  write 'FROM busybox\nARG G=4294967295\nCOPY --chown=app:$G a /a\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "$CTX/Dockerfile:3:6: invalid --chown \"app:4294967295\": group ID 4294967295 is out of range"* ]]
  write 'FROM busybox\nADD --chown=4294967294:app a /a\nCOPY --chown=99999999999x a /b\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "every flag of the reference is accepted and shown after expansion" {
  write 'FROM busybox AS b\nFROM --platform=linux/amd64 busybox AS c\nARG D=/dst\nRUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked,mode=0755,uid=1,gid=2 --mount=type=bind,from=b,source=/etc,target=/e,rw --mount=type=tmpfs,target=/t,size=64m --mount=type=secret,id=tok,env=TOKEN,required --mount=type=ssh --network=none --security=sandbox make\nCOPY --from=b --chown=app:app --chmod=u+x,g-w --link --parents --exclude=*.md a b ${D}/\nADD --chown=1:1 --chmod=0644 --link --keep-git-dir --checksum=sha256:abc --exclude=x https://example.com/f /f\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=5s --start-interval=1s --retries=2 CMD ["true"]\nEXPOSE 80 53/udp 8000-8001/tcp\nVOLUME ["/data", "/logs"]\nSTOPSIGNAL SIGRTMIN+3\nONBUILD RUN echo later\nMAINTAINER someone\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  [[ "$output" == *'--mount=type=cache,target=/go/pkg/mod,id=gomod,sharing=locked,rw,mode=0755,uid=1,gid=2'* ]]
  [[ "$output" == *'--mount=type=bind,target=/e,source=/etc,from=b,rw'* ]]
  [[ "$output" == *'--mount=type=tmpfs,target=/t,size=67108864'* ]]
  [[ "$output" == *'--mount=type=secret,id=tok,env=TOKEN,required,mode=0400'* ]]
  [[ "$output" == *'--mount=type=ssh,target=/run/buildkit/ssh_agent.0,id=default,mode=0600 --network=none --security=sandbox "make"'* ]]
  [[ "$output" == *'COPY --from=b --chown=app:app --chmod=u+x,g-w --link --parents --exclude=*.md ["a", "b"] "/dst/"'* ]]
  [[ "$output" == *'ADD --chown=1:1 --chmod=0644 --link --keep-git-dir --checksum=sha256:abc --exclude=x ["https://example.com/f"] "/f"'* ]]
  [[ "$output" == *'HEALTHCHECK --interval=90s --timeout=500ms --start-period=5s --start-interval=1s --retries=2 CMD ["true"]'* ]]
  [[ "$output" == *'EXPOSE ["80", "53/udp", "8000-8001/tcp"]'* ]]
  [[ "$output" == *'STOPSIGNAL "SIGRTMIN+3"'* ]]
  [[ "$output" == *'ONBUILD "RUN echo later"'* ]]
}

@test "# syntax=docker/dockerfile:1.x is kiln's own front end; another is refused" {
  for s in docker/dockerfile:1 docker/dockerfile:1.7 docker/dockerfile:1.7-labs docker.io/docker/dockerfile:1.4.3; do
    write "# syntax=$s\nFROM busybox\n"
    run kiln debug stages "$CTX/Dockerfile"
    [ "$status" -eq 0 ] || { echo "$s refused"; false; }
  done
  write '# syntax=example.com/frontend:2\nFROM busybox\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == *':1:1: # syntax=example.com/frontend:2: kiln cannot run external front ends'* ]]
}

@test "heredocs: RUN and COPY bodies are read, and parse errors say where" {
  write 'FROM busybox\nRUN <<EOF\necho hi\nEOF\nCOPY <<A <<B /dst/\none\nA\ntwo\nB\n'
  run kiln debug parse --json "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"name": "EOF"'*'"content": "echo hi\n"'* ]]
  run kiln debug stages "$CTX/Dockerfile"
  [[ "$output" == *'  5: COPY ["<<A", "<<B"] "/dst/"'* ]]
  write 'FROM busybox\nRUN <<EOF\necho never ends\n'
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$CTX/Dockerfile:2:1: unterminated heredoc \"EOF\"" ]
}
