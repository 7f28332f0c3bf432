#!/usr/bin/env bash
# kiln exec's latency: `kiln exec C true` into a running busybox container, N
# times; prints the median, the fastest and the 90th percentile in ms.  Needs the
# busybox base image (scripts/base-images) in $KILN_ROOT.
#   bench/exec.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${KILN:-build/kiln}
n=${1:-50}
name=bench-exec-$$
"$kiln" run -d --name "$name" busybox sleep 600 >/dev/null
trap '"$kiln" rm -f "$name" >/dev/null 2>&1 || true' EXIT
python3 - "$kiln" "$name" "$n" <<'PY'
import subprocess, sys, time
kiln, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def runs(cmd):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        ts.append((time.perf_counter() - t) * 1e3)
    ts.sort()
    return "median %.1f ms, fastest %.1f ms, p90 %.1f ms" % (ts[len(ts) // 2], ts[0], ts[int(len(ts) * 0.9)])
print("kiln exec C true:", runs([kiln, "exec", name, "true"]))
print("kiln ps -q (the store lookup alone):", runs([kiln, "ps", "-q"]))
PY
