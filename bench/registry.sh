#!/usr/bin/env bash
# Registry benchmark: push and pull of a ~500 MB, 10-layer image over loopback.
#   push: kiln push (layers already compressed once)  vs  skopeo copy oci:DIR → docker://
#   pull: kiln pull (download, verify, unpack)  vs  skopeo copy docker:// → oci:DIR (download only)
#         and podman pull (download and unpack into containers-storage)
# Each push goes to a fresh repository of a fresh registry, so nothing is skipped.
# Prints wall time and peak RSS, and the ratios, measured in one run.
# SIZE_MB overrides the workload. Needs root (podman's storage), docker-registry, skopeo.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${KILN:-build/kiln}")
size_mb=${SIZE_MB:-500}
work=$(mktemp -d /var/tmp/kiln-bench-reg.XXXXXX)
regpid=
cleanup() {
  [ -n "$regpid" ] && kill "$regpid" 2>/dev/null || true
  podman rmi -f "$reg/bench/pulled:1" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export KILN_ROOT=$work/store
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port

start_registry() { # a fresh, empty registry
  [ -n "$regpid" ] && kill "$regpid" 2>/dev/null && wait "$regpid" 2>/dev/null || true
  rm -rf "$work/regdata"
  cat >"$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/regdata
http:
  addr: $reg
YML
  docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  regpid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://$reg/v2/" && return 0; sleep 0.1; done
  echo "registry did not start" >&2
  exit 1
}

echo "making a ${size_mb} MB image of 10 layers ..."
python3 - "$work/ctx" "$size_mb" <<'PY'
import os, random, sys
root, size_mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
block = os.urandom(1 << 20)
text = (b"kiln registry benchmark, an ordinary line of text 0123456789\n" * 20000)[: 1 << 20]
per_layer = size_mb * (1 << 20) // 10
for layer in range(10):
    d = os.path.join(root, f"l{layer}")
    os.makedirs(d)
    left, i = per_layer, 0
    while left > 0:
        n = min(left, rnd.randrange(64 << 10, 4 << 20))
        src = block if i % 2 else text
        with open(os.path.join(d, f"f{i}"), "wb") as f:
            while n > 0:
                k = min(n, 1 << 20)
                f.write(src[:k])
                n -= k
                left -= k
        i += 1
with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM scratch\n" + "".join(f"COPY l{i} /l{i}\n" for i in range(10)))
PY
"$kiln" build -q -t bench/img:1 "$work/ctx" >/dev/null
# Compress once (kiln caches compressed layers; skopeo gets the same blobs from the layout).
"$kiln" save --format oci-dir -o "$work/layout" bench/img:1

measure() { # measure LABEL CMD... → "LABEL seconds peak_kb"
  local label=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r secs kb < "$work/time"
  printf '%s %s %s\n' "$label" "$secs" "$kb"
}

results=()
start_registry
results+=("$(measure "push kiln" "$kiln" push bench/img:1 "$reg/bench/kiln:1")")
start_registry
results+=("$(measure "push skopeo" skopeo copy -q --dest-tls-verify=false "oci:$work/layout" "docker://$reg/bench/skopeo:1")")
# Pull what kiln pushed, into empty stores.
export KILN_ROOT=$work/store-pull
results+=("$(measure "pull kiln" "$kiln" pull -q "$reg/bench/skopeo:1")")
results+=("$(measure "pull skopeo" skopeo copy -q --src-tls-verify=false "docker://$reg/bench/skopeo:1" "oci:$work/pulled")")
podman rmi -f "$reg/bench/skopeo:1" >/dev/null 2>&1 || true
results+=("$(measure "pull podman" podman pull -q --tls-verify=false "$reg/bench/skopeo:1")")
podman rmi -f "$reg/bench/skopeo:1" >/dev/null 2>&1 || true

row() { printf '%s\n' "${results[@]}" | grep "^$1 "; }
printf '\n%-22s %8s %8s %8s\n' "" seconds peak_MB "vs kiln"
for label in "push kiln" "push skopeo" "pull kiln" "pull skopeo" "pull podman"; do
  read -r _ _ secs kb <<<"$(row "$label")"
  base=$(row "${label%% *} kiln" | awk '{print $3}')
  printf '%-22s %8s %8d %8s\n' "$label" "$secs" $((kb / 1024)) "$(echo "scale=2; $secs / $base" | bc)x"
done
echo
echo "(ratios above 1.00x: the peer took longer than kiln)"
