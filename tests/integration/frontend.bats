#!/usr/bin/env bats
# The Dockerfile front end as a user meets it: errors with a caret, ignore rules, contexts.
load helpers

@test "a parse error names FILE:LINE:COL and shows the line with a caret" {
  printf 'FROM busybox\n\nENV PATH\n' > "$CTX/Dockerfile"
  run kiln debug parse "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "$CTX/Dockerfile:3:1: ENV must have two arguments" ]
  [ "${lines[1]}" = "    ENV PATH" ]
  [ "${lines[2]}" = "    ^" ]
}

@test "a very long line is shown cut, with the caret still under its column" {
  python3 -c 'import sys; open(sys.argv[1], "w").write("FROM busybox\nRUN echo " + "a" * 10_000_000 + "\n")' "$CTX/Dockerfile"
  run kiln debug parse "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [ "${#output}" -lt 1000 ] || { echo "${#output} bytes"; false; }
  [ "${lines[0]}" = "$CTX/Dockerfile:2:1: line is longer than the maximum of 65535 bytes" ]
  [[ "${lines[1]}" == "    RUN echo aaaa"*"a..." ]]
  [ "${lines[2]}" = "    ^" ]
  # A column far into the line: the part around it is shown, the caret under it.
  python3 -c 'import sys; open(sys.argv[1], "w").write("FROM busybox" + " " * 5000 + "AS b@d" + " " * 5000 + "\n")' "$CTX/Dockerfile"
  run kiln debug stages "$CTX/Dockerfile"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "$CTX/Dockerfile:1:5016: invalid stage name \"b@d\""* ]]
  [ "${#lines[1]}" -lt 300 ] && [[ "${lines[1]}" == "    ..."*"AS b@d   "*"..." ]] || { echo "$output"; false; }
  shown=${lines[1]%%b@d*}
  [ "${lines[2]}" = "$(printf '%*s^' "${#shown}" '')" ] || { echo "$output"; false; }
}

@test "debug parse prints BuildKit's dump of a Dockerfile" {
  printf 'FROM busybox AS b\nCOPY --from=b ["/a", "/b"]\nRUN echo "$X"\n' > "$CTX/Dockerfile"
  run kiln debug parse "$CTX/Dockerfile"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '(from "busybox" "AS" "b")' ]
  [ "${lines[1]}" = '(copy ["--from=b"] "/a" "/b")' ]
  [ "${lines[2]}" = '(run "echo \"$X\"")' ]
}

@test "debug expand expands like the Dockerfile does, and fails on a required variable" {
  run kiln debug expand -e V=1.2.3 'app-${V%.*}-${MISSING:-none}'
  [ "$status" -eq 0 ]
  [ "$output" = "app-1.2-none" ]
  run kiln debug expand '${TOKEN:?must be set}'
  [ "$status" -eq 1 ]
  [[ "$output" == *"TOKEN: must be set"* ]]
}

@test "debug ignore decides paths; an invalid pattern file exits 2 naming the line" {
  printf '*.log\n!keep.log\nbuild/\n' > "$TMP/ign"
  run kiln debug ignore "$TMP/ign" a.log keep.log build/x/y src/main.c
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "a.log	excluded" ]
  [ "${lines[1]}" = "keep.log	included" ]
  [ "${lines[2]}" = "build/x/y	excluded" ]
  [ "${lines[3]}" = "src/main.c	included" ]
  printf 'ok\n[a-\n' > "$TMP/bad"
  run kiln debug ignore "$TMP/bad" x
  [ "$status" -eq 2 ]
  [[ "${lines[0]}" == "$TMP/bad:2:1: invalid pattern"* ]]
}

@test "the context walk applies .dockerignore and looks into excluded dirs only for exceptions" {
  mkdir -p "$CTX/src" "$CTX/docs/api" "$CTX/node_modules/x" "$CTX/logs"
  touch "$CTX/Dockerfile" "$CTX/src/main.c" "$CTX/docs/README.md" "$CTX/docs/api/ref.md" \
        "$CTX/node_modules/x/index.js" "$CTX/logs/a.log" "$CTX/secret.env"
  printf 'node_modules\ndocs\n!docs/README.md\n*.env\nlogs/*.log\n' > "$CTX/.dockerignore"
  run kiln debug context "$CTX"
  [ "$status" -eq 0 ]
  # docs/ is there as the parent of what the exception keeps (BuildKit sends it so).
  [ "$output" = "$(printf '.dockerignore\nDockerfile\ndocs/\ndocs/README.md\nlogs/\nsrc/\nsrc/main.c')" ]
  # node_modules is excluded with no exception below it: it is never opened.
  ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,openat2 -o "$TMP/trace" "$KILN" debug context "$CTX" >/dev/null
  refute grep -q 'node_modules"' "$TMP/trace"
  grep -q '"docs"' "$TMP/trace"
}

@test "Dockerfile.dockerignore beside the Dockerfile wins over .dockerignore" {
  mkdir -p "$CTX/sub"
  touch "$CTX/a" "$CTX/b"
  printf 'a\n' > "$CTX/.dockerignore"
  printf 'FROM scratch\n' > "$CTX/sub/app.Dockerfile"
  printf 'b\n' > "$CTX/sub/app.Dockerfile.dockerignore"
  run kiln debug context -f "$CTX/sub/app.Dockerfile" "$CTX"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '.dockerignore\na\nsub/\nsub/app.Dockerfile\nsub/app.Dockerfile.dockerignore')" ]
  run kiln debug context "$CTX"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '.dockerignore\nb\nsub/\nsub/app.Dockerfile\nsub/app.Dockerfile.dockerignore')" ]
}
