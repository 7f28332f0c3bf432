#!/usr/bin/env bats
# The examples build and run as their Dockerfiles promise. The C service needs the
# Debian build image (scripts/base-images debian: debootstrap once, then cached).
load helpers

setup_file() {
  export KILN_ROOT=$(mktemp -d)/store
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" busybox debian >/dev/null
}

teardown_file() {
  rm -rf "$(dirname "$KILN_ROOT")"
}

EX=$BATS_TEST_DIRNAME/../../examples

@test "busybox-service: two stages, non-root user, the site it built" {
  run kiln build -t site:1 --build-arg SITE_NAME=bats "$EX/busybox-service"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm site:1 sh -c 'cat /var/www/build.txt; id -un; grep -c bats /var/www/index.html'
  [ "$output" = "$(printf 'built for bats\nweb\n2')" ]
  run kiln inspect site:1
  [[ "$output" == *'"8080/tcp"'* && *'"User": "web"'* && *'"Healthcheck"'* ]]
}

@test "c-service production: compiled in Debian, a scratch image with certs, zoneinfo, a non-root user" {
  run kiln build -t hello:prod --target production --build-arg VERSION=2.5 "$EX/c-service"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm hello:prod --version
  [ "$output" = "hello 2.5" ]
  kiln build -o type=local,dest="$TMP/prod" --target production --build-arg VERSION=2.5 "$EX/c-service"
  [ -s "$TMP/prod/etc/ssl/certs/ca-certificates.crt" ]
  [ -f "$TMP/prod/usr/share/zoneinfo/UTC" ]
  [ "$(stat -c '%a' "$TMP/prod/usr/local/bin/hello")" = 555 ]
  [ "$(stat -c '%u:%g' "$TMP/prod/data")" = "10001:10001" ]
  [ ! -e "$TMP/prod/bin/sh" ]   # scratch: nothing but what was copied
  run kiln inspect hello:prod
  [[ "$output" == *'"User": "app:app"'* && *'"--healthcheck"'* && *'"GREETING=hello from kiln"'* ]]
  # It serves, and its own health check says so.
  # Started with "$KILN" itself (not the helper function) so that $! is kiln.
  "$KILN" run --rm --network host hello:prod > "$TMP/server.log" 2>&1 3>&- &
  pid=$!
  for i in $(seq 1 50); do grep -q listening "$TMP/server.log" && break; sleep 0.1; done
  run kiln run --rm --network host --entrypoint /usr/local/bin/hello hello:prod --healthcheck
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ "$status" -eq 0 ]
  # Killing kiln takes the container with it.
  sleep 0.2
  refute pgrep -f "hello:prod" >/dev/null
}

@test "c-service development: the toolchain image with the sources" {
  run kiln build -t hello:dev --target development "$EX/c-service"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run kiln run --rm hello:dev sh -c 'make -s >/dev/null && ./hello --version'
  [ "$output" = "hello dev" ]
}
