#!/usr/bin/env bash
# Container lifecycle benchmark (issue 13): kiln against docker and podman in one run.
#   run --rm busybox true          ms, median of RUNS
#   run -d busybox sleep           ms until the command returns (the container runs)
#   exec C true                    ms, into a running container (when kiln has exec)
#   ps with 100 containers         ms, 100 detached containers running
#   the monitor's private memory   RssAnon (/proc/PID/smaps_rollup) of kiln's monitor of an
#                                  idle detached container; docker's containerd-shim and
#                                  podman's conmon for the same container, for comparison
# docker: a dockerd started by this script on its own socket and data root (as
# bench/build.sh and bench/net.sh do), stopped at the end; podman: its own root and
# runroot under the work directory, runc, the same ulimits as kiln's defaults. The
# busybox image is kiln's, loaded into each from `kiln save`. Needs root.
# KILN_BENCH_RUNS (default 20), KILN_BENCH_PS (default 100), KILN_BENCH_DOCKER=0,
# KILN_BENCH_PODMAN=0 leave a peer out.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${KILN:-build/kiln}")
work=$(mktemp -d /var/tmp/kiln-bench-run.XXXXXX)
N=${KILN_BENCH_RUNS:-20}
NPS=${KILN_BENCH_PS:-100}
docker=/usr/bin/docker # Debian's docker.io 20.10 client, matching its dockerd
dockerd_pid=
podman=(podman --root "$work/podman" --runroot "$work/podman-run" --cgroup-manager cgroupfs --events-backend file)
podman_ok=0 docker_ok=0
cleanup() {
  set +e
  "$kiln" rm -f $("$kiln" ps -aq --no-trunc 2>/dev/null) >/dev/null 2>&1
  if [ "$podman_ok" = 1 ]; then
    "${podman[@]}" rm -af -t 0 >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
  fi
  if [ -n "$dockerd_pid" ]; then
    $docker rm -f $($docker ps -aq) >/dev/null 2>&1
    kill "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
  fi
  umount -R "$work/docker" "$work/podman" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export KILN_ROOT=$work/store
scripts/base-images --kiln "$kiln" >/dev/null
"$kiln" save -o "$work/busybox.tar" busybox:latest

if [ -x /usr/sbin/dockerd ] && [ -x $docker ] && [ "${KILN_BENCH_DOCKER:-1}" != 0 ]; then
  export DOCKER_HOST=unix://$work/docker.sock
  /usr/sbin/dockerd --host "$DOCKER_HOST" --data-root "$work/docker" --exec-root "$work/docker-exec" \
    --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do $docker version >/dev/null 2>&1 && break; sleep 0.5; done
  if $docker load -q -i "$work/busybox.tar" >/dev/null 2>&1; then docker_ok=1; else
    echo "dockerd did not start (see $work/dockerd.log); docker left out" >&2; fi
fi
if command -v podman >/dev/null && [ "${KILN_BENCH_PODMAN:-1}" != 0 ]; then
  if "${podman[@]}" load -q -i "$work/busybox.tar" >/dev/null 2>&1; then podman_ok=1; else
    echo "podman could not load busybox; podman left out" >&2; fi
fi
podman_run=("${podman[@]}" run --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none)

# ms per run: the median of N runs of CMD... (the machine is shared: a median
# keeps one slow run from moving the figure).
per_run() {
  local start end
  for _ in $(seq 1 "$N"); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $((end - start))
  done | median_ms
}
median_ms() {
  python3 -c 'import statistics, sys; print("%.1f" % (statistics.median(int(l) for l in sys.stdin) / 1e6))'
}

# ms of `run -d` until it returns, N times (names bench-d-I), the containers removed after.
run_d() {
  local tool=$1 start end
  shift
  for i in $(seq 1 "$N"); do
    start=$(date +%s%N)
    "$@" -d --name "bench-d-$i" busybox sleep 600 >/dev/null
    end=$(date +%s%N)
    echo $((end - start))
  done | median_ms
  "$tool" rm -f $(for i in $(seq 1 "$N"); do echo "bench-d-$i"; done) >/dev/null 2>&1 || true
}
podman_cli() { "${podman[@]}" "$@"; }

# RssAnon in kB of PID.
rss_anon() { awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup"; }

# The process whose command line holds WORD and NAME (a shim or conmon of a container).
pid_of() { pgrep -f "$1.*$2" | head -1; }

is_num() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
kib_to_mib() { if is_num "$1"; then printf '%.2f' "$(echo "$1 / 1024" | bc -l)"; else echo -; fi; }
# ratio KILN OTHER: OTHER / KILN ("12.3x"), - when either is missing.
ratio() { if is_num "$1" && is_num "$2"; then printf '%.1fx' "$(echo "$2 / $1" | bc -l)"; else echo -; fi; }

"$kiln" run --rm --network none busybox true >/dev/null # warm caches
k_rm=$(per_run "$kiln" run --rm --network none busybox true)
k_d=$(run_d "$kiln" "$kiln" run --network none)
"$kiln" run -d --name bench-x --network none busybox sleep 600 >/dev/null
k_exec=-
if "$kiln" exec bench-x true >/dev/null 2>&1; then k_exec=$(per_run "$kiln" exec bench-x true); fi
sleep 1 # the monitor idle
k_mon=$(rss_anon "$("$kiln" inspect -f '{{.State.Pid}}' bench-x | xargs -I{} awk '/^PPid/ {print $2}' /proc/{}/status)")
for i in $(seq 1 "$NPS"); do echo "$i"; done | xargs -P 2 -I{} "$kiln" run -d --network none --name bench-ps-{} busybox sleep 600 >/dev/null
k_ps=$(per_run "$kiln" ps)
"$kiln" rm -f $("$kiln" ps -aq --no-trunc) >/dev/null

d_rm=- d_d=- d_exec=- d_ps=- d_shim=- p_rm=- p_d=- p_exec=- p_ps=- p_conmon=-
if [ "$docker_ok" = 1 ]; then
  $docker run --rm --network none busybox true >/dev/null
  d_rm=$(per_run $docker run --rm --network none busybox true)
  d_d=$(run_d $docker $docker run --network none)
  cid=$($docker run -d --name bench-x --network none busybox sleep 600)
  d_exec=$(per_run $docker exec bench-x true)
  sleep 1
  d_shim=$(rss_anon "$(pid_of containerd-shim "$cid")")
  for i in $(seq 1 "$NPS"); do echo "$i"; done | xargs -P 2 -I{} $docker run -d --network none --name bench-ps-{} busybox sleep 600 >/dev/null
  d_ps=$(per_run $docker ps)
  $docker rm -f $($docker ps -aq) >/dev/null
fi
if [ "$podman_ok" = 1 ]; then
  "${podman_run[@]}" --rm busybox true >/dev/null
  p_rm=$(per_run "${podman_run[@]}" --rm busybox true)
  p_d=$(run_d podman_cli "${podman_run[@]}")
  cid=$("${podman_run[@]}" -d --name bench-x busybox sleep 600)
  p_exec=$(per_run "${podman[@]}" exec bench-x true)
  sleep 1
  p_conmon=$(rss_anon "$(pid_of conmon "$cid")")
  for i in $(seq 1 "$NPS"); do echo "$i"; done | xargs -P 2 -I{} "${podman_run[@]}" -d --name bench-ps-{} busybox sleep 600 >/dev/null
  p_ps=$(per_run "${podman[@]}" ps)
  "${podman[@]}" rm -af -t 0 >/dev/null
fi

row() { printf '%-36s %9s %9s %9s %12s %12s\n' "$@"; }
row "" kiln docker podman "docker/kiln" "podman/kiln"
row "run --rm busybox true (ms)" "$k_rm" "$d_rm" "$p_rm" "$(ratio "$k_rm" "$d_rm")" "$(ratio "$k_rm" "$p_rm")"
row "run -d busybox sleep (ms)" "$k_d" "$d_d" "$p_d" "$(ratio "$k_d" "$d_d")" "$(ratio "$k_d" "$p_d")"
row "exec C true (ms)" "$k_exec" "$d_exec" "$p_exec" "$(ratio "$k_exec" "$d_exec")" "$(ratio "$k_exec" "$p_exec")"
row "ps, $NPS running (ms)" "$k_ps" "$d_ps" "$p_ps" "$(ratio "$k_ps" "$d_ps")" "$(ratio "$k_ps" "$p_ps")"
row "monitor RssAnon (MiB)" "$(kib_to_mib "$k_mon")" "$(kib_to_mib "$d_shim")" "$(kib_to_mib "$p_conmon")" \
  "$(ratio "$k_mon" "$d_shim")" "$(ratio "$k_mon" "$p_conmon")"
dv="not run" pv="not run"
[ "$docker_ok" = 1 ] && dv="dockerd $($docker version --format '{{.Server.Version}}')"
[ "$podman_ok" = 1 ] && pv="podman $(podman --version | awk '{print $3}') with runc"
echo "(medians of $N runs; --network none everywhere; docker: $dv (monitor: containerd-shim-runc-v2);" \
  "podman: $pv (monitor: conmon))"
