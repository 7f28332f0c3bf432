#!/usr/bin/env bats
# What a build sees of its inputs: the context as .dockerignore selects it (for
# COPY, the cache key, RUN --mount=type=bind and `kiln debug context` alike),
# named contexts (--build-context), git URL contexts, --ssh and -o type=registry.
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

listing() { (cd "$1" && find . -mindepth 1 | sed 's|^\./||' | sort); }

@test "COPY copies what debug context lists: an exception inside an excluded directory is kept" {
  mkdir -p "$CTX/docs/api" "$CTX/src"
  echo r >"$CTX/docs/README.md"
  echo a >"$CTX/docs/api/ref.md"
  echo m >"$CTX/src/main.c"
  printf 'docs\n!docs/README.md\n' >"$CTX/.dockerignore"
  mkdir "$TMP/df"
  printf 'FROM scratch\nCOPY . /app\n' >"$TMP/df/Dockerfile"
  run kiln debug context -f "$TMP/df/Dockerfile" "$CTX"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '.dockerignore\ndocs/\ndocs/README.md\nsrc/\nsrc/main.c')" ]
  run kiln build -q -f "$TMP/df/Dockerfile" -o "type=local,dest=$TMP/out" "$CTX"
  [ "$status" -eq 0 ]
  [ "$(listing "$TMP/out/app")" = "$(printf '.dockerignore\ndocs\ndocs/README.md\nsrc\nsrc/main.c')" ]
  # COPY of the excluded directory by name copies what the exception keeps.
  printf 'FROM scratch\nCOPY docs /d\n' >"$TMP/df/Dockerfile"
  run kiln build -q -f "$TMP/df/Dockerfile" -o "type=local,dest=$TMP/out2" "$CTX"
  [ "$status" -eq 0 ]
  [ "$(listing "$TMP/out2/d")" = "README.md" ]
}

@test "a file a .dockerignore exception keeps changes the cache key; an ignored one does not" {
  mkdir -p "$CTX/docs"
  echo 1 >"$CTX/docs/README.md"
  echo 1 >"$CTX/docs/other.md"
  printf 'docs\n!docs/README.md\n' >"$CTX/.dockerignore"
  printf 'FROM busybox\nCOPY . /app\nRUN cat /app/docs/README.md\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  echo 2 >"$CTX/docs/other.md"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"#2 CACHED"* ]]
  echo 2 >"$CTX/docs/README.md"
  run kiln build --progress plain "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" != *"#2 CACHED"* ]]
  [[ "$output" == *"#3 "*" 2"* ]]
}

@test ".dockerignore applies to links COPY follows and to RUN --mount=type=bind of the context" {
  mkdir -p "$CTX/docs" "$CTX/sub"
  echo s >"$CTX/secret.env"
  echo r >"$CTX/docs/README.md"
  echo x >"$CTX/docs/private.md"
  ln -s secret.env "$CTX/toplink"
  ln -s ../secret.env "$CTX/sub/link"
  printf '*.env\ndocs\n!docs/README.md\n' >"$CTX/.dockerignore"
  printf 'FROM busybox\nCOPY toplink /x\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -ne 0 ]
  [[ "$output" == *'"toplink": not found in the build context (or excluded by .dockerignore)'* ]]
  printf 'FROM busybox\nCOPY sub/link /x\n' >"$CTX/Dockerfile"
  run kiln build --progress plain "$CTX"
  [ "$status" -ne 0 ]
  printf 'FROM busybox\nRUN --mount=type=bind,target=/c find /c -type f | sort\nRUN --mount=type=bind,source=docs,target=/d ls /d\n' \
    >"$CTX/Dockerfile"
  run kiln build --progress plain --no-cache "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"/c/docs/README.md"* ]]
  [[ "$output" == *"/c/Dockerfile"* ]]
  [[ "$output" != *"secret.env"* ]]
  [[ "$output" != *"private.md"* ]]
  [[ "$output" == *"README.md"* ]]
}
