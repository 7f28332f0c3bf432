#!/usr/bin/env bash
# A/B of two kiln binaries on bench/build.sh's kiln workloads, to check that a change
# (a refactor of the build engine) keeps every row at least as fast.  Each binary gets
# its own store; the two run alternately, ROUNDS times (default 3), and the median of
# each row is printed.  Needs root.
#   bench/ab.sh OLD_KILN NEW_KILN [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "$2")
rounds=${3:-3}
work=$(mktemp -d /var/tmp/kiln-bench-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
. bench/contexts.sh
mk_contexts
mk_stage_contexts
for side in old new; do
  KILN_ROOT=$work/store-$side scripts/base-images --kiln "${!side}" >/dev/null
done

t() { local s e; sync; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "FAILED: $*" >&2; return 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
k() { # SIDE ARGS...: the side's binary on its own store
  local side=$1; shift
  KILN_ROOT=$work/store-$side "${!side}" "$@"
}
declare -A T
rows=(files steps no-op edit stages)
for r in $(seq 1 "$rounds"); do
  for side in old new; do
    # Cold builds: the store forgets the previous round's layers and cache first.
    k "$side" system prune -a -f >/dev/null 2>&1 || true
    KILN_ROOT=$work/store-$side scripts/base-images --kiln "${!side}" >/dev/null
    T[files,$side]+="$(t k "$side" build --progress=quiet -t ab/files "$work/files") "
    T[steps,$side]+="$(t k "$side" build --progress=quiet -t ab/steps "$work/steps") "
    T[no-op,$side]+="$(t k "$side" build --progress=quiet -t ab/files "$work/files") "
    k "$side" build --progress=quiet -t ab/edit "$work/edit" >/dev/null
    echo "round $r" >"$work/edit/src/f7"
    T[edit,$side]+="$(t k "$side" build --progress=quiet -t ab/edit "$work/edit") "
    T[stages,$side]+="$(t k "$side" build --progress=quiet --no-cache -t ab/stages "$work/stages") "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-22s%10s%10s%10s\n' workload old new new/old
for row in "${rows[@]}"; do
  o=$(echo "${T[$row,old]}" | median)
  n=$(echo "${T[$row,new]}" | median)
  printf '%-22s%10.3f%10.3f%10.2f\n' "$row" "$o" "$n" "$(echo "$n / $o" | bc -l)"
done
echo "(seconds, median of $rounds; files: 20,000-file COPY cold; steps: 30 RUNs cold;"
echo " no-op: the files build again; edit: one file of 200 changed; stages: builder+runtime --no-cache)"
