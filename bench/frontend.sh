#!/usr/bin/env bash
# Front-end speed: parse and resolve a ~1 MB Dockerfile and one RUN with 10,000
# continuation lines. Prints wall time per step (best of 3).
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${KILN:-build/kiln}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo 'FROM busybox'
  for i in $(seq 1 40000); do echo "ENV KEY_$i=value_$i"; done
} > "$tmp/big"
{
  echo 'FROM busybox'
  echo 'RUN true \'
  for i in $(seq 1 10000); do echo " && echo line $i \\"; done
  echo ' && true'
} > "$tmp/cont"
best() { # best-of-3 wall time in ms of "$@"
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    local ms=$(( (e - s) / 1000000 )); [ $ms -lt $b ] && b=$ms
  done
  echo $b
}
printf '%-44s %8s\n' "workload" "ms"
printf '%-44s %8s\n' "parse, $(du -k "$tmp/big" | cut -f1) KiB, 40,001 instructions" "$(best $kiln debug parse "$tmp/big")"
printf '%-44s %8s\n' "stages (expand all), same file" "$(best $kiln debug stages "$tmp/big")"
printf '%-44s %8s\n' "parse, 10,000 continuation lines" "$(best $kiln debug parse "$tmp/cont")"
