#!/usr/bin/env bats
# Registries as users meet them: pull, push, login/logout, manifest inspect,
# build --push and FROM pulling, against Debian's docker-registry on 127.0.0.1 in
# several setups (plain HTTP, TLS with a test CA, htpasswd, token auth), and
# through proxies that corrupt or cut blobs.
load helpers

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_url() { # wait_url URL: until something answers (any status)
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

background() { # background LOG CMD...: a server for this file, stopped in teardown_file
  local log=$1
  shift
  "$@" >"$log.log" 2>&1 3>&- &
  echo $! >>"$REGS/pids"
}

start_registry() { # start_registry NAME PORT [EXTRA_YAML]
  local name=$1 port=$2 extra=${3:-}
  mkdir -p "$REGS/$name"
  cat >"$REGS/$name/config.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $REGS/$name/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
YML
  background "$REGS/$name/registry" docker-registry serve "$REGS/$name/config.yml"
}

setup_file() {
  export REGS=$(mktemp -d)
  export KILN_ROOT=$REGS/store
  export DOCKER_CONFIG=$REGS/docker
  "$BATS_TEST_DIRNAME/../../scripts/base-images" --kiln "$KILN" >/dev/null

  # A CA, a server certificate for 127.0.0.1 signed by it, and a CA nobody used.
  local pki=$REGS/pki
  mkdir -p "$pki/good" "$pki/wrong"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kiln-test-ca -keyout "$pki/ca.key" \
    -out "$pki/good/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/san.ext"
  openssl x509 -req -in "$pki/server.csr" -CA "$pki/good/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
    -extfile "$pki/san.ext" -out "$pki/server.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$pki/other.key" \
    -out "$pki/wrong/ca.crt" 2>/dev/null
  # The token signer.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kiln-token -keyout "$pki/token.key" \
    -out "$pki/token.crt" 2>/dev/null
  htpasswd -Bbn alice s3cret-pw >"$REGS/htpasswd" 2>/dev/null

  export PLAIN=127.0.0.1:$(free_port)
  start_registry plain "${PLAIN#*:}"
  export TLS=127.0.0.1:$(free_port)
  start_registry tls "${TLS#*:}" "  tls:
    certificate: $pki/server.crt
    key: $pki/server.key"
  export BASIC=127.0.0.1:$(free_port)
  start_registry basic "${BASIC#*:}" "auth:
  htpasswd:
    realm: kiln-test
    path: $REGS/htpasswd"
  local tport
  tport=$(free_port)
  export TOKEN=127.0.0.1:$(free_port)
  export TOKEN_LOG=$REGS/token-requests.log
  background "$REGS/token-server" python3 "$BATS_TEST_DIRNAME/token_server.py" "$tport" "$pki/token.key" \
    "$pki/token.crt" bob t0ken-pw kiln-issuer "$TOKEN_LOG"
  start_registry token "${TOKEN#*:}" "auth:
  token:
    realm: http://127.0.0.1:$tport/token
    service: kiln-test-registry
    issuer: kiln-issuer
    rootcertbundle: $pki/token.crt"
  export CORRUPT=127.0.0.1:$(free_port) CUT=127.0.0.1:$(free_port) FLAKY=127.0.0.1:$(free_port)
  export PROXY_LOG=$REGS/proxy.log
  background "$REGS/corrupt" python3 "$BATS_TEST_DIRNAME/blob_proxy.py" "${CORRUPT#*:}" "${PLAIN#*:}" corrupt "$PROXY_LOG"
  background "$REGS/cut" python3 "$BATS_TEST_DIRNAME/blob_proxy.py" "${CUT#*:}" "${PLAIN#*:}" cut "$PROXY_LOG"
  background "$REGS/flaky" python3 "$BATS_TEST_DIRNAME/blob_proxy.py" "${FLAKY#*:}" "${PLAIN#*:}" flaky "$PROXY_LOG"
  wait_url "http://$PLAIN/v2/"
  wait_url "https://$TLS/v2/"
  wait_url "http://$BASIC/v2/"
  wait_url "http://127.0.0.1:$tport/token"
  wait_url "http://$TOKEN/v2/"
  wait_url "http://$CORRUPT/v2/"
  wait_url "http://$CUT/v2/"
  curl -s -o /dev/null "http://$FLAKY/v2/" || true # the proxy is up once it answers at all

  # Something to push: busybox plus a layer of its own.
  mkdir -p "$REGS/ctx"
  printf 'FROM busybox\nRUN echo pushed-and-pulled > /greeting && head -c 300000 /dev/urandom > /noise\nCMD ["cat", "/greeting"]\n' \
    >"$REGS/ctx/Dockerfile"
  "$KILN" build --progress plain -t app:1 "$REGS/ctx" >/dev/null 2>&1
}

teardown_file() {
  if [ -f "$REGS/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$REGS/pids"
  fi
  rm -rf "$REGS"
}

fresh_store() { # a second, empty store for "another machine"
  export KILN_ROOT=$TMP/other-store
}

image_id() { kiln inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])'; }

@test "push to a registry, pull into an empty store: same image, same manifest digest, RepoDigests" {
  id=$(image_id app:1)
  run kiln push app:1 "$PLAIN/team/app:1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"The push refers to repository [$PLAIN/team/app]"* ]]
  [[ "$output" == *": Pushed"* ]]
  digest=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) size: [0-9]*$/\1/p' <<<"$output")
  [ -n "$digest" ]
  # The registry has it under that digest.
  run curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$PLAIN/v2/team/app/manifests/1"
  [ "$status" -eq 0 ]
  [ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$digest" ]
  run kiln inspect app:1
  [[ "$output" == *"$PLAIN/team/app@$digest"* ]]

  fresh_store
  run kiln pull "$PLAIN/team/app:1"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Digest: $digest"* ]]
  [[ "$output" == *"Status: Downloaded newer image for $PLAIN/team/app:1"* ]]
  [ "${lines[-1]}" = "$PLAIN/team/app:1" ]
  [ "$(image_id "$PLAIN/team/app:1")" = "$id" ]
  run kiln images --digests
  [[ "$output" == *"$PLAIN/team/app"*"$digest"* ]]
  run kiln run --rm "$PLAIN/team/app:1"
  [ "$output" = "pushed-and-pulled" ]
  # Pulling again downloads nothing.
  run kiln pull "$PLAIN/team/app:1"
  [[ "$output" == *"Already exists"* ]]
  [[ "$output" == *"Image is up to date"* ]]
  refute grep -q "Pulling fs layer" <<<"$output"
  run kiln system check
  [ "$status" -eq 0 ]
}

@test "a second push skips what the registry has; another repository mounts it" {
  kiln push app:1 "$PLAIN/mount/src:1" >/dev/null
  run kiln push app:1 "$PLAIN/mount/src:1"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'Layer already exists' <<<"$output")" -eq 2 ]
  refute grep -q ': Pushed' <<<"$output"
  run kiln push app:1 "$PLAIN/mount/dst:1"
  [ "$status" -eq 0 ]
  [ "$(grep -c 'Mounted from mount/src' <<<"$output")" -eq 2 ]
  run skopeo inspect --tls-verify=false "docker://$PLAIN/mount/dst:1"
  [ "$status" -eq 0 ]
}

@test "skopeo reads what kiln pushed; kiln pulls what skopeo pushed" {
  run kiln push -q app:1 "$PLAIN/interop/kiln:1"
  [ "$status" -eq 0 ]
  digest=$output
  run skopeo inspect --tls-verify=false "docker://$PLAIN/interop/kiln:1"
  [ "$status" -eq 0 ]
  [ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["Digest"])' "$output")" = "$digest" ]
  skopeo copy -q --src-tls-verify=false "docker://$PLAIN/interop/kiln:1" "oci:$TMP/layout:x"
  [ -s "$TMP/layout/index.json" ]

  kiln save busybox -o "$TMP/bb.tar"
  skopeo copy -q --dest-tls-verify=false "docker-archive:$TMP/bb.tar" "docker://$PLAIN/interop/skopeo:v1"
  fresh_store
  run kiln pull -q "$PLAIN/interop/skopeo:v1"
  [ "$status" -eq 0 ]
  [ "$output" = "$PLAIN/interop/skopeo:v1" ]
  run kiln run --rm "$PLAIN/interop/skopeo:v1" echo from-skopeo
  [ "$output" = "from-skopeo" ]
  run kiln manifest inspect "$PLAIN/interop/skopeo:v1"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"schemaVersion": 2'* ]]
}

@test "pull by digest; an unknown tag or repository is a clear error and stores nothing" {
  digest=$(kiln push -q app:1 "$PLAIN/bydigest/app:1")
  fresh_store
  run kiln pull "$PLAIN/bydigest/app@$digest"
  [ "$status" -eq 0 ]
  run kiln run --rm "$PLAIN/bydigest/app@$digest"
  [ "$output" = "pushed-and-pulled" ]
  run kiln pull "$PLAIN/bydigest/app:nope"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$PLAIN/bydigest/app: manifest nope: MANIFEST_UNKNOWN"*"check the repository name and the tag"* ]]
  run kiln pull "$PLAIN/bydigest/app@sha256:$(printf x | sha256sum | cut -d' ' -f1)"
  [ "$status" -eq 1 ]
  run kiln images -q
  [ "$(wc -l <<<"$output")" -eq 1 ]
}

@test "an index: the host's platform by default, --platform picks another, a missing one is an error" {
  kiln push app:1 "$PLAIN/multi/app:amd64" >/dev/null
  kiln push busybox "$PLAIN/multi/app:arm64" >/dev/null
  python3 - "$PLAIN" <<'PY'
import hashlib, json, sys, urllib.request
reg = sys.argv[1]
def get(tag):
    r = urllib.request.Request(f"http://{reg}/v2/multi/app/manifests/{tag}",
                               headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    body = urllib.request.urlopen(r).read()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(body),
            "digest": "sha256:" + hashlib.sha256(body).hexdigest()}
a, b = get("amd64"), get("arm64")
a["platform"] = {"os": "linux", "architecture": "amd64"}
b["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
att = dict(b, platform={"os": "unknown", "architecture": "unknown"})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [att, b, a]}).encode()
r = urllib.request.Request(f"http://{reg}/v2/multi/app/manifests/all", data=index, method="PUT",
                           headers={"Content-Type": "application/vnd.oci.image.index.v1+json"})
urllib.request.urlopen(r)
PY
  index_digest="sha256:$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$PLAIN/v2/multi/app/manifests/all" | sha256sum | cut -d' ' -f1)"
  fresh_store
  kiln pull -q "$PLAIN/multi/app:all"
  run kiln run --rm "$PLAIN/multi/app:all"
  [ "$output" = "pushed-and-pulled" ]
  run kiln inspect "$PLAIN/multi/app:all"
  [[ "$output" == *"$PLAIN/multi/app@$index_digest"* ]]
  kiln pull -q --platform linux/arm64 "$PLAIN/multi/app:all"
  run kiln run --rm "$PLAIN/multi/app:all" cat /greeting
  [ "$status" -ne 0 ] # busybox alone: the arm64 entry was chosen
  run kiln pull --platform linux/s390x "$PLAIN/multi/app:all"
  [ "$status" -eq 1 ]
  [[ "$output" == *"has no image for linux/s390x"* ]]
}

@test "kiln build: FROM pulls what the store lacks, --push pushes every tag" {
  kiln push busybox "$PLAIN/base/busybox:1" >/dev/null
  printf 'FROM %s/base/busybox:1\nRUN echo built-here > /out\nCMD ["cat", "/out"]\n' "$PLAIN" >"$CTX/Dockerfile"
  fresh_store
  run kiln build --progress plain --push -t "$PLAIN/built/app:1" -t "$PLAIN/built/app:latest" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"1: digest: sha256:"* ]]
  [[ "$output" == *"latest: digest: sha256:"* ]]
  [ "$(grep -c 'Layer already exists' <<<"$output")" -ge 2 ]
  export KILN_ROOT=$TMP/third-store
  run kiln run --rm "$PLAIN/built/app:latest"
  [ "$status" -eq 0 ]
  [[ "$output" == *"Unable to find image '$PLAIN/built/app:latest' locally"* ]]
  [ "${lines[-1]}" = "built-here" ]
  run kiln build --push "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--push needs at least one -t"* ]]
}

@test "large blobs go up in chunks; the registry keeps the same digest" {
  mkdir -p "$TMP/big"
  head -c 3000000 /dev/urandom >"$TMP/big/blob"
  kiln import "$TMP/big" big:1 >/dev/null
  run env KILN_REGISTRY_CHUNK_SIZE=1048576 "$KILN" push big:1 "$PLAIN/chunked/big:1"
  [ "$status" -eq 0 ]
  digest=$(sed -n 's/^1: digest: \(sha256:[0-9a-f]*\) .*/\1/p' <<<"$output")
  run skopeo inspect --tls-verify=false "docker://$PLAIN/chunked/big:1"
  [[ "$output" == *"$digest"* ]]
  fresh_store
  kiln pull -q "$PLAIN/chunked/big:1"
  run kiln run --rm "$PLAIN/chunked/big:1" 2>/dev/null || true
  [ "$(kiln images -q | wc -l)" -eq 1 ]
}

@test "TLS: verified against --cert-dir's CA; the wrong CA is refused" {
  run kiln push --cert-dir "$REGS/pki/good" app:1 "$TLS/tls/app:1"
  [ "$status" -eq 0 ]
  fresh_store
  run kiln pull --cert-dir "$REGS/pki/wrong" "$TLS/tls/app:1"
  [ "$status" -eq 1 ]
  echo "$output"
  [[ "$output" == *"certificate"* ]]
  run kiln pull --cert-dir "$REGS/pki/good" -q "$TLS/tls/app:1"
  [ "$status" -eq 0 ]
  run kiln pull --cert-dir "$REGS/pki/wrong" --tls-verify=false -q "$TLS/tls/app:1"
  [ "$status" -eq 0 ]
  # Without --cert-dir: the CA from certs.d/HOST:PORT (containers' per-user location).
  mkdir -p "$TMP/home/.config/containers/certs.d/$TLS"
  cp "$REGS/pki/good/ca.crt" "$TMP/home/.config/containers/certs.d/$TLS/ca.crt"
  fresh_store
  run env HOME="$TMP/home" "$KILN" pull -q "$TLS/tls/app:1"
  [ "$status" -eq 0 ]
  cp "$REGS/pki/wrong/ca.crt" "$TMP/home/.config/containers/certs.d/$TLS/ca.crt"
  run env HOME="$TMP/home" "$KILN" manifest inspect "$TLS/tls/app:1"
  [ "$status" -eq 1 ]
  [[ "$output" == *"certificate"* ]]
}

@test "basic auth: clear errors without or with wrong credentials; login, push, pull, logout" {
  run kiln push app:1 "$BASIC/private/app:1"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$BASIC/private/app"*"kiln login"* ]]
  run kiln login -u alice -p wrong-pw "$BASIC"
  [ "$status" -eq 1 ]
  [[ "$output" == *"login to $BASIC"* ]]
  [ ! -e "$DOCKER_CONFIG/config.json" ] || refute grep -q "$BASIC" "$DOCKER_CONFIG/config.json"
  run bash -c "printf 's3cret-pw\n' | '$KILN' login -u alice --password-stdin http://$BASIC/"
  [ "$status" -eq 0 ]
  [ "$output" = "Login Succeeded" ]
  [ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 ]
  python3 - "$DOCKER_CONFIG/config.json" "$BASIC" <<'PY'
import base64, json, sys
auths = json.load(open(sys.argv[1]))["auths"]
assert base64.b64decode(auths[sys.argv[2]]["auth"]) == b"alice:s3cret-pw", auths
PY
  run kiln push app:1 "$BASIC/private/app:1"
  [ "$status" -eq 0 ]
  refute grep -q s3cret <<<"$output"
  fresh_store
  run kiln pull -q "$BASIC/private/app:1"
  [ "$status" -eq 0 ]
  refute grep -rqs s3cret "$KILN_ROOT/kiln.db" "$KILN_ROOT/blobs"
  run kiln logout "$BASIC"
  [ "$output" = "Removing login credentials for $BASIC" ]
  run kiln logout "$BASIC"
  [ "$output" = "Not logged in to $BASIC" ]
  run kiln pull "$BASIC/private/app:1"
  [ "$status" -eq 1 ]
  # A credential helper named by credsStore supplies the secret.
  mkdir -p "$TMP/bin"
  cat >"$TMP/bin/docker-credential-kilntest" <<'SH'
#!/bin/sh
read -r server
[ "$1" = get ] && printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret-pw"}\n' "$server"
SH
  chmod +x "$TMP/bin/docker-credential-kilntest"
  printf '{"credsStore": "kilntest"}\n' >"$DOCKER_CONFIG/config.json"
  run env PATH="$TMP/bin:$PATH" "$KILN" pull -q "$BASIC/private/app:1"
  [ "$status" -eq 0 ]
  rm -f "$DOCKER_CONFIG/config.json"
}

@test "token auth: anonymous is refused clearly; with credentials kiln gets scoped tokens" {
  run kiln push app:1 "$TOKEN/tok/app:1"
  [ "$status" -eq 1 ]
  [[ "$output" == *"$TOKEN/tok/app"*"kiln login"* ]]
  run kiln login -u bob -p nope "$TOKEN"
  [ "$status" -eq 1 ]
  [[ "$output" == *"refused the credentials"* ]]
  kiln login -u bob -p t0ken-pw "$TOKEN" 2>/dev/null
  run kiln push app:1 "$TOKEN/tok/app:1"
  [ "$status" -eq 0 ]
  grep -q "token bob repository:tok/app:pull,push" "$TOKEN_LOG"
  fresh_store
  run kiln pull -q "$TOKEN/tok/app:1"
  [ "$status" -eq 0 ]
  grep -q "token bob repository:tok/app:pull$" "$TOKEN_LOG"
  run kiln run --rm "$TOKEN/tok/app:1"
  [ "$output" = "pushed-and-pulled" ]
  kiln logout "$TOKEN" >/dev/null
}

@test "a blob corrupted on the way is refused and nothing is stored" {
  kiln push app:1 "$PLAIN/faulty/app:1" >/dev/null
  fresh_store
  kiln images -q >/dev/null
  run kiln pull "$CORRUPT/faulty/app:1"
  [ "$status" -eq 1 ]
  [[ "$output" == *"does not match"* || "$output" == *"digest"* ]]
  [ -z "$(kiln images -q)" ]
  [ -z "$(ls -A "$KILN_ROOT/tmp")" ]
  run kiln system check
  [ "$status" -eq 0 ]
}

@test "a blob cut mid-way is resumed with Range" {
  kiln push app:1 "$PLAIN/resume/app:1" >/dev/null
  fresh_store
  run kiln pull -q "$CUT/resume/app:1"
  [ "$status" -eq 0 ]
  grep -q "resume.*range=bytes=[1-9][0-9]*- status=206" "$PROXY_LOG"
  run kiln run --rm "$CUT/resume/app:1"
  [ "$output" = "pushed-and-pulled" ]
}

cache_dockerfile() { # a builder stage and a final stage on a base in the test registry
  printf 'FROM %s/cachebase/busybox:1 AS builder\nRUN echo compiling-$((6*7)) && echo artifact > /artifact\nFROM %s/cachebase/busybox:1\nENV MODE=production\nCOPY --from=builder /artifact /app/artifact\nRUN echo final-step > /app/done\nCOPY src.txt /app/src.txt\nCMD ["cat", "/app/artifact"]\n' \
    "$PLAIN" "$PLAIN" >"$CTX/Dockerfile"
  echo source >"$CTX/src.txt"
  kiln push busybox "$PLAIN/cachebase/busybox:1" >/dev/null
}

@test "a build cache shared through a registry: an empty store runs no step and gets the same image" {
  cache_dockerfile
  run kiln build --progress plain -t cached:1 --cache-to "type=registry,ref=$PLAIN/cache/app:buildcache,mode=max" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"exported the build cache to $PLAIN/cache/app:buildcache: "*" records, 4 layers"* ]]
  id=$(image_id cached:1)
  fresh_store
  run kiln build --progress plain -t cached:1 --cache-from "type=registry,ref=$PLAIN/cache/app:buildcache" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"imported the build cache from $PLAIN/cache/app:buildcache"*"4 layers downloaded"* ]]
  refute grep -q "compiling-42" <<<"$output"
  refute grep -q " DONE " <<<"$output"
  [ "$(grep -c CACHED <<<"$output")" -eq 4 ]
  [ "$(image_id cached:1)" = "$id" ]
  run kiln run --rm cached:1
  [ "$output" = "artifact" ]
  # mode=min carries the image's own chain: the builder stage runs again, the rest is cached.
  export KILN_ROOT=$REGS/store
  kiln build --progress plain -t cached:1 --cache-to "type=registry,ref=$PLAIN/cache/app:min" "$CTX" >/dev/null 2>&1
  export KILN_ROOT=$TMP/min-store
  run kiln build --progress plain -t cached:1 --cache-from "$PLAIN/cache/app:min" "$CTX"
  [ "$status" -eq 0 ]
  grep -q "compiling-42" <<<"$output"
  [ "$(grep -c CACHED <<<"$output")" -eq 3 ]
  [ "$(image_id cached:1)" = "$id" ]
  # A cache that does not exist yet is not an error.
  run kiln build --progress plain --cache-from "$PLAIN/cache/app:nothing-yet" "$CTX"
  [ "$status" -eq 0 ]
  [[ "$output" == *"no build cache at $PLAIN/cache/app:nothing-yet yet"* ]]
}

@test "a build cache in a directory; a tampered cache is refused and adds nothing" {
  cache_dockerfile
  kiln build --progress plain -t cached:2 --cache-to "type=local,dest=$TMP/cache,mode=max" "$CTX" >/dev/null 2>&1
  [ -s "$TMP/cache/index.json" ] && [ -s "$TMP/cache/oci-layout" ]
  id=$(image_id cached:2)
  cp -r "$TMP/cache" "$TMP/tampered"
  fresh_store
  run kiln build --progress plain -t cached:2 --cache-from "type=local,src=$TMP/cache" "$CTX"
  [ "$status" -eq 0 ]
  refute grep -q " DONE " <<<"$output"
  [ "$(image_id cached:2)" = "$id" ]

  export KILN_ROOT=$TMP/tamper-store
  layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' \
    "$TMP/tampered/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$TMP/tampered/index.json")")
  printf 'X' | dd of="$TMP/tampered/blobs/sha256/$layer" bs=1 seek=20 conv=notrunc 2>/dev/null
  run kiln build --progress plain -t cached:2 --cache-from "type=local,src=$TMP/tampered" "$CTX"
  [ "$status" -eq 1 ]
  [[ "$output" == *"importing the build cache from $TMP/tampered"* ]]
  run kiln build --progress plain -t cached:2 "$CTX"
  [ "$status" -eq 0 ]
  grep -q "compiling-42" <<<"$output"
  run kiln build --cache-to type=local "$CTX"
  [ "$status" -eq 2 ]
  [[ "$output" == *"--cache-to type=local needs dest=DIR"* ]]
}

@test "503 and 429 replies are retried with backoff" {
  kiln push app:1 "$PLAIN/flaky/app:1" >/dev/null
  fresh_store
  run kiln pull -q "$FLAKY/flaky/app:1"
  [ "$status" -eq 0 ]
  grep -q "flaky /v2/flaky/app/manifests/1 503" "$PROXY_LOG"
  grep -q "flaky /v2/flaky/app/manifests/1 429" "$PROXY_LOG"
  grep -q "flaky /v2/flaky/app/blobs/sha256:.* 429" "$PROXY_LOG"
  run kiln run --rm "$FLAKY/flaky/app:1"
  [ "$output" = "pushed-and-pulled" ]
}

@test "push -a pushes every tag of a repository; build --pull takes a newer base" {
  kiln tag app:1 "$PLAIN/all/app:one"
  kiln tag busybox "$PLAIN/all/app:two"
  run kiln push -a "$PLAIN/all/app"
  [ "$status" -eq 0 ]
  [[ "$output" == *"one: digest: sha256:"* && "$output" == *"two: digest: sha256:"* ]]
  run skopeo list-tags --tls-verify=false "docker://$PLAIN/all/app"
  [[ "$output" == *'"one"'* && "$output" == *'"two"'* ]]

  kiln push busybox "$PLAIN/moving/base:1" >/dev/null
  printf 'FROM %s/moving/base:1\nCMD ["cat", "/greeting"]\n' "$PLAIN" >"$CTX/Dockerfile"
  fresh_store
  kiln build -q -t on-moving "$CTX" >/dev/null
  # The tag moves to an image with /greeting; a plain build keeps the stored base, --pull takes the new one.
  KILN_ROOT=$REGS/store kiln push app:1 "$PLAIN/moving/base:1" >/dev/null
  kiln build -q -t on-moving "$CTX" >/dev/null
  run kiln run --rm on-moving
  [ "$status" -ne 0 ]
  kiln build -q --pull -t on-moving "$CTX" >/dev/null
  run kiln run --rm on-moving
  [ "$output" = "pushed-and-pulled" ]
}

@test "on a terminal, pull and push redraw one line per layer with a progress bar" {
  kiln push app:1 "$PLAIN/tty/app:1" >/dev/null
  fresh_store
  run script -qec "'$KILN' pull $PLAIN/tty/app:1" /dev/null
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\033['*A* ]]
  [[ "$output" == *"Downloading ["*"]"* ]]
  [[ "$output" == *"Pull complete"* ]]
  run script -qec "'$KILN' push $PLAIN/tty/app:1 $PLAIN/tty/again:1" /dev/null
  [ "$status" -eq 0 ]
  [[ "$output" == *"Mounted from tty/app"* ]]
  # Not a terminal: plain lines, no escape sequences.
  run kiln pull "$PLAIN/tty/app:1"
  refute grep -q $'\033' <<<"$output"
}
