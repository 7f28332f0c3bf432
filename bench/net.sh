#!/usr/bin/env bash
# Network benchmark: kiln's bridge against --network none (container start), and bulk
# TCP through a published port (127.0.0.1:PORT → the container) against docker's
# (a dockerd started by this script on its own socket and data root, as bench/build.sh
# does, stopped at the end; docker 20.10 carries loopback through its userland proxy).
# Prints milliseconds per `run --rm busybox true` and MB/s, kiln's ratios. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${KILN:-build/kiln}")
work=$(mktemp -d /var/tmp/kiln-bench-net.XXXXXX)
N=${KILN_BENCH_RUNS:-20}
MB=${KILN_BENCH_MB:-1024}
dockerd_pid=
cleanup() {
  "$kiln" rm -f nb-holder nb-sink >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    /usr/bin/docker rm -f nb-sink >/dev/null 2>&1 || true
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  umount -R "$work/docker" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export KILN_ROOT=$work/store
scripts/base-images --kiln "$kiln" >/dev/null
"$kiln" save -o "$work/busybox.tar" busybox:latest

docker_ok=0
if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && [ "${KILN_BENCH_DOCKER:-1}" != 0 ]; then
  export DOCKER_HOST=unix://$work/docker.sock
  /usr/sbin/dockerd --host "$DOCKER_HOST" --data-root "$work/docker" --exec-root "$work/docker-exec" \
    --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do /usr/bin/docker version >/dev/null 2>&1 && break; sleep 0.5; done
  if /usr/bin/docker load -q -i "$work/busybox.tar" >/dev/null 2>&1; then docker_ok=1; else
    echo "dockerd did not start (see $work/dockerd.log); docker left out" >&2; fi
fi

# ms per run: the median of RUNS runs of CMD... (the machine is shared: a median
# keeps one slow run from moving the figure).
per_run() {
  local start end
  for _ in $(seq 1 "$N"); do
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $((end - start))
  done | python3 -c 'import statistics, sys; print("%.1f" % (statistics.median(int(l) for l in sys.stdin) / 1e6))'
}

# "NONE BRIDGE COST": RUNS pairs of `run --rm busybox true` with --network none
# and then on the bridge (ENV... set for the latter), each pair back to back, and
# the medians of each and of the pairs' differences: a load that comes and goes
# on a shared machine moves both runs of a pair alike.
paired() {
  local a b c
  for _ in $(seq 1 "$N"); do
    a=$(date +%s%N)
    "$kiln" run --rm --network none busybox true >/dev/null
    b=$(date +%s%N)
    env "$@" "$kiln" run --rm busybox true >/dev/null
    c=$(date +%s%N)
    echo "$((b - a)) $((c - b))"
  done | python3 -c '
import statistics as s, sys
r = [tuple(map(int, l.split())) for l in sys.stdin]
m = lambda v: s.median(v) / 1e6
print("%.1f %.1f %.1f" % (m(a for a, _ in r), m(b for _, b in r), m(b - a for a, b in r)))'
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# MB/s of MB megabytes sent to 127.0.0.1:PORT (a sink that reads until EOF).
throughput() {
  python3 - "$1" "$MB" <<'PY'
import socket, sys, time
port, mb = int(sys.argv[1]), int(sys.argv[2])
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5); break
    except OSError:
        time.sleep(0.1)
buf = b"\0" * (1 << 20)
t = time.monotonic()
for _ in range(mb):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)  # the sink closes when it has read everything
print("%.0f" % (mb / (time.monotonic() - t)))
PY
}

"$kiln" run --rm busybox true >/dev/null # warm caches
# The bridge outlives its last container by KILN_NET_IDLE_MS: back to back, each
# run finds it made; with 0, each run makes it (and the last one's teardown runs
# meanwhile).
read -r none kept kept_cost < <(paired KILN_NET_IDLE_MS=2000)
read -r _ cold cold_cost < <(paired KILN_NET_IDLE_MS=0)
"$kiln" run -d --name nb-holder busybox sleep 600 >/dev/null
read -r _ warm warm_cost < <(paired KILN_NET_IDLE_MS=2000)
"$kiln" rm -f nb-holder >/dev/null

p=$(free_port)
"$kiln" run -d --name nb-sink -p "$p:5001" busybox sh -c 'nc -l -p 5001 >/dev/null' >/dev/null
kiln_tp=$(throughput "$p")
"$kiln" rm -f nb-sink >/dev/null

docker_tp="" docker_none="" docker_bridge=""
if [ "$docker_ok" = 1 ]; then
  docker_none=$(per_run /usr/bin/docker run --rm --network none busybox true)
  docker_bridge=$(per_run /usr/bin/docker run --rm busybox true)
  q=$(free_port)
  /usr/bin/docker run -d --name nb-sink -p "$q:5001" busybox sh -c 'nc -l -p 5001 >/dev/null' >/dev/null
  docker_tp=$(throughput "$q")
  /usr/bin/docker rm -f nb-sink >/dev/null
fi

printf '%-44s %10s %10s\n' "" kiln docker
printf '%-44s %10s %10s\n' "run --rm true, --network none (ms)" "$none" "${docker_none:--}"
printf '%-44s %10s %10s\n' "run --rm true, bridge, back to back (ms)" "$kept" "${docker_bridge:--}"
printf '%-44s %10s %10s\n' "run --rm true, bridge, another running (ms)" "$warm" "-"
printf '%-44s %10s %10s\n' "run --rm true, bridge made each run (ms)" "$cold" "-"
printf '%-44s %10s %10s\n' "bridge cost (pairs), b2b / another / made" \
  "$kept_cost / $warm_cost / $cold_cost" \
  "$([ -n "$docker_bridge" ] && echo "$docker_bridge - $docker_none" | bc || echo -)"
printf '%-44s %10s %10s\n' "TCP via 127.0.0.1:published port (MB/s)" "$kiln_tp" "${docker_tp:--}"
[ -n "$docker_tp" ] && printf '%-44s %10s\n' "throughput kiln / docker" "$(echo "scale=2; $kiln_tp / $docker_tp" | bc)x"
echo "(medians of $N pairs (none, bridge) each; $MB MB sent; docker = dockerd $(/usr/bin/docker version --format '{{.Server.Version}}' 2>/dev/null || echo 'not run'))"
