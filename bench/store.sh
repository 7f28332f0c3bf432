#!/usr/bin/env bash
# Store benchmark: import and save of a ~1 GB, 30,000-file tree.
#   kiln import DIR              vs  tar -c DIR | podman import -
#   kiln save --format oci-archive (gzip)  vs  skopeo copy containers-storage: → oci-archive: (gzip)
#   kiln save (docker-archive, uncompressed) vs  podman save (docker-archive)
# Prints wall time and peak RSS for each, and kiln's ratio, measured in one run.
# Needs root (podman's storage). SIZE_MB and FILES override the workload.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${KILN:-build/kiln}")
size_mb=${SIZE_MB:-1024}
files=${FILES:-30000}
work=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
trap 'podman rmi -f bench/podman:1 >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export KILN_ROOT=$work/store

echo "making a ${size_mb} MB tree of ${files} files ..."
python3 - "$work/tree" "$size_mb" "$files" <<'PY'
import os, random, sys
root, size_mb, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
per = size_mb * 1024 * 1024 // files
# Half random bytes, half text: layers compress the way real ones do.
block = os.urandom(1 << 20)
text = (b"kiln benchmark line of fairly ordinary text 0123456789\n" * 20000)[: 1 << 20]
for i in range(files):
    d = os.path.join(root, f"d{i % 300:03d}", f"s{i % 7}")
    os.makedirs(d, exist_ok=True)
    n = max(1, int(per * rnd.uniform(0.2, 1.8)))
    src = block if i % 2 else text
    off = rnd.randrange(0, (1 << 20) - min(n, 1 << 20) + 1)
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        while n > 0:
            k = min(n, (1 << 20) - off)
            f.write(src[off : off + k])
            n -= k
            off = 0
PY
du -sh "$work/tree" | cut -f1 | sed 's/^/tree: /'

measure() { # measure LABEL CMD... → "LABEL seconds peak_kb"
  local label=$1; shift
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r secs kb < "$work/time"
  printf '%s %s %s\n' "$label" "$secs" "$kb"
}

results=()
results+=("$(measure "import kiln" "$kiln" import "$work/tree" bench/kiln:1)")
results+=("$(measure "import podman" sh -c "tar -C '$work/tree' -cf - . | podman import - bench/podman:1")")
results+=("$(measure "save-oci-gzip kiln" "$kiln" save -o "$work/k.tar" --format oci-archive bench/kiln:1)")
results+=("$(measure "save-oci-gzip skopeo" skopeo copy -q --dest-compress-format gzip containers-storage:localhost/bench/podman:1 oci-archive:"$work/s.tar")")
rm -f "$work/k.tar" "$work/s.tar"
results+=("$(measure "save-docker kiln" "$kiln" save -o "$work/k2.tar" bench/kiln:1)")
results+=("$(measure "save-docker podman" podman save -q -o "$work/p2.tar" bench/podman:1)")

printf '\n%-16s %10s %10s %12s %12s %8s\n' workload kiln_s peer_s kiln_MB peer_MB ratio
for w in import save-oci-gzip save-docker; do
  k=$(printf '%s\n' "${results[@]}" | grep "^$w kiln ")
  p=$(printf '%s\n' "${results[@]}" | grep "^$w " | grep -v " kiln ")
  ks=$(echo "$k" | awk '{print $3}'); km=$(echo "$k" | awk '{print $4}')
  ps=$(echo "$p" | awk '{print $3}'); pm=$(echo "$p" | awk '{print $4}'); peer=$(echo "$p" | awk '{print $2}')
  printf '%-16s %10s %10s %12s %12s %7.2fx  (peer: %s)\n' "$w" "$ks" "$ps" "$((km / 1024))" "$((pm / 1024))" \
    "$(echo "$ps / $ks" | bc -l)" "$peer"
done
echo "(ratio = peer time / kiln time; MB = peak resident memory)"
