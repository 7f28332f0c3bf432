#!/usr/bin/env bash
# Build benchmark: kiln vs docker's BuildKit (a dockerd started by this script on
# its own socket and data root, stopped at the end), buildah bud and podman build
# (when installed), same contexts, same base image (kiln's busybox, loaded into each
# peer's store), in one run. Workloads: the multi-stage example; 20,000 files / ~200 MB in one COPY; 30
# small RUN steps; a no-op rebuild; a one-file-change rebuild; a builder + runtime pair
# of stages (two independent 2 s RUNs, then COPY --from; cold, --no-cache, and a
# CPU-bound variant), which a graph build overlaps. Prints seconds per tool and kiln's
# speed-up, plus the final image sizes. Needs root. KILN_BENCH_ONLY=stages: only the
# builder + runtime rows.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=$(realpath "${KILN:-build/kiln}")
work=$(mktemp -d /var/tmp/kiln-bench-build.XXXXXX)
dockerd_pid=
cleanup() {
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true; fi
  umount -R "$work/docker" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export KILN_ROOT=$work/store
scripts/base-images --kiln "$kiln" >/dev/null
"$kiln" save -o "$work/busybox.tar" busybox:latest
peers=()
if command -v buildah >/dev/null; then peers+=(buildah); fi
if command -v podman >/dev/null; then peers+=(podman); fi
if [ ${#peers[@]} -gt 0 ]; then podman load -q -i "$work/busybox.tar" >/dev/null; fi
# Debian's docker.io 20.10: its own client (the newer one in /usr/local/bin needs buildx).
if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && [ "${KILN_BENCH_DOCKER:-1}" != 0 ]; then
  export DOCKER_HOST=unix://$work/docker.sock DOCKER_BUILDKIT=1
  /usr/sbin/dockerd --host "$DOCKER_HOST" --data-root "$work/docker" --exec-root "$work/docker-exec" \
    --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 60); do /usr/bin/docker version >/dev/null 2>&1 && break; sleep 0.5; done
  if /usr/bin/docker load -q -i "$work/busybox.tar" >/dev/null; then peers=(buildkit "${peers[@]}"); else
    echo "dockerd did not start (see $work/dockerd.log); BuildKit left out" >&2; fi
fi

. bench/contexts.sh
mk_stage_contexts
if [ "${KILN_BENCH_ONLY:-}" != stages ]; then mk_contexts; fi

# Each timing starts after a sync, so one tool's writeback does not land on the next one's clock.
t() { local s e; sync; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
build_with() { # TOOL CONTEXT TAG [--no-cache]
  case $1 in
    kiln) "$kiln" build --progress=quiet ${4:-} -t "$3" "$2" ;;
    buildkit) /usr/bin/docker build --quiet ${4:-} -t "$3" "$2" ;;
    buildah) buildah bud --quiet --runtime runc --network host --layers ${4:-} -t "$3" "$2" ;;
    podman) podman build --quiet --runtime runc --network host --layers ${4:-} -t "$3" "$2" ;;
  esac
}
size_of() { # TOOL TAG
  case $1 in
    kiln) "$kiln" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | awk -v t="$2" '$1==t {print $2}' ;;
    buildkit) /usr/bin/docker images --format '{{.Size}}' "$2" | head -1 ;;
    *) podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "localhost/$2" | awk '{print $2 $3}' | head -1 ;;
  esac
}

tools=(kiln "${peers[@]}")
has_bk=0; if [ "${peers[0]:-}" = buildkit ]; then has_bk=1; fi
printf '%-22s' workload; for tool in "${tools[@]}"; do printf '%10s' "$tool"; done; printf '%14s' "kiln speed-up"
if [ $has_bk = 1 ]; then printf '%13s' "vs buildkit"; fi; echo
row() { # NAME then one time per tool (kiln first)
  local name=$1; shift
  printf '%-22s' "$name"
  for v in "$@"; do printf '%10.3f' "$v"; done
  if [ $# -gt 1 ]; then
    printf '%13.1fx' "$(printf '%s\n' "${@:2}" | sort -g | head -1 | awk -v k="$1" '{print $1 / k}')"
    if [ $has_bk = 1 ]; then printf '%12.1fx' "$(echo "$2 / $1" | bc -l)"; fi
  fi
  echo
}
declare -A T
# Builder + runtime: cold, then --no-cache twice (each its own row), then the CPU-bound pair.
for tool in "${tools[@]}"; do
  T[stages,$tool]=$(t build_with "$tool" "$work/stages" "bench/stages:1")
  T[stagesnc,$tool]=$(t build_with "$tool" "$work/stages" "bench/stages:1" --no-cache)
  T[stagescpu,$tool]=$(t build_with "$tool" "$work/stages-cpu" "bench/stages-cpu:1" --no-cache)
done
row "builder+runtime" $(for tool in "${tools[@]}"; do echo "${T[stages,$tool]}"; done)
row "  --no-cache" $(for tool in "${tools[@]}"; do echo "${T[stagesnc,$tool]}"; done)
row "  CPU-bound, no cache" $(for tool in "${tools[@]}"; do echo "${T[stagescpu,$tool]}"; done)
if [ "${KILN_BENCH_ONLY:-}" = stages ]; then exit 0; fi
for w in multi files steps step1 edit; do
  for tool in "${tools[@]}"; do T[$w,$tool]=$(t build_with "$tool" "$work/$w" "bench/$w:1"); done
done
for w in multi files steps; do row "$w (cold)" $(for tool in "${tools[@]}"; do echo "${T[$w,$tool]}"; done); done
# A no-op rebuild is short and the VM noisy: the median of three, for every tool.
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
for tool in "${tools[@]}"; do
  T[noop,$tool]=$(median3 "$(t build_with "$tool" "$work/files" "bench/files:1")" \
    "$(t build_with "$tool" "$work/files" "bench/files:1")" "$(t build_with "$tool" "$work/files" "bench/files:1")")
done
row "no-op rebuild" $(for tool in "${tools[@]}"; do echo "${T[noop,$tool]}"; done)
echo "line changed" > "$work/edit/src/f7"
for tool in "${tools[@]}"; do T[edit2,$tool]=$(t build_with "$tool" "$work/edit" "bench/edit:1"); done
row "one-file change" $(for tool in "${tools[@]}"; do echo "${T[edit2,$tool]}"; done)
# The cost of one more trivial RUN step: 30 steps minus 1 step, per step (the first
# step also pays once-per-build costs: the network, the image's layers).  Each the
# median of the cold build above and two --no-cache builds, for every tool.
for tool in "${tools[@]}"; do
  for w in steps step1; do
    T[$w,$tool]=$(median3 "${T[$w,$tool]}" "$(t build_with "$tool" "$work/$w" "bench/$w:1" --no-cache)" \
      "$(t build_with "$tool" "$work/$w" "bench/$w:1" --no-cache)")
  done
done
printf '%-22s' "per trivial RUN (ms)"; for tool in "${tools[@]}"; do printf '%10.1f' "$(echo "(${T[steps,$tool]} - ${T[step1,$tool]}) * 1000 / 29" | bc -l)"; done; echo
printf '%-22s' "1-step build (s)"; for tool in "${tools[@]}"; do printf '%10.3f' "${T[step1,$tool]}"; done; echo
echo
printf '%-22s' "image size (multi)"; for tool in "${tools[@]}"; do printf '%10s' "$(size_of "$tool" bench/multi:1)"; done; echo
printf '%-22s' "image size (files)"; for tool in "${tools[@]}"; do printf '%10s' "$(size_of "$tool" bench/files:1)"; done; echo
# Tools count "size" differently (docker: file bytes; the others: layer tar bytes), so
# also the bytes of each tool's docker-archive of the same image: what leaves the machine.
saved_of() { # TOOL TAG
  case $1 in
    kiln) "$kiln" save -o "$work/saved.tar" "$2" ;;
    buildkit) /usr/bin/docker save -o "$work/saved.tar" "$2" ;;
    *) podman save -q --format docker-archive -o "$work/saved.tar" "localhost/$2" ;;
  esac >/dev/null 2>&1 && echo "$(( $(stat -c %s "$work/saved.tar") / 1000 ))kB"
  rm -f "$work/saved.tar"
}
printf '%-22s' "saved archive (multi)"; for tool in "${tools[@]}"; do printf '%10s' "$(saved_of "$tool" bench/multi:1)"; done; echo
printf '%-22s' "saved archive (files)"; for tool in "${tools[@]}"; do printf '%10s' "$(saved_of "$tool" bench/files:1)"; done; echo
if [[ " ${peers[*]} " == *" podman "* ]]; then podman rmi -f bench/multi:1 bench/files:1 bench/steps:1 bench/step1:1 bench/edit:1 >/dev/null 2>&1 || true; fi
echo "(seconds; speed-up = fastest peer / kiln; buildkit = dockerd $(/usr/bin/docker version --format '{{.Server.Version}}' 2>/dev/null || echo 'not run') with DOCKER_BUILDKIT=1)"
