# bench/contexts.sh — the build contexts the build benches share (sourced; needs $work).
# mk_contexts: the multi-stage example; 20,000 files / ~200 MB in one COPY; 30 small RUN
# steps; one step; a 200-file edit context.  mk_stage_contexts: builder + runtime pairs.

mk_contexts() {
  mkdir -p "$work/multi" && cp -a examples/busybox-service/. "$work/multi/"
  mkdir -p "$work/files/tree"
  python3 - "$work/files/tree" <<'PY'
import os, sys
root = sys.argv[1]
blob = os.urandom(1 << 20)
for i in range(20000):
    d = os.path.join(root, f"d{i % 200}")
    os.makedirs(d, exist_ok=True)
    n = 10 * 1024
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        off = (i * 4099) % ((1 << 20) - n)
        f.write(blob[off:off + n])
PY
  printf 'FROM busybox:latest\nCOPY tree /tree\n' > "$work/files/Dockerfile"
  mkdir -p "$work/steps"
  { echo 'FROM busybox:latest'; for i in $(seq 1 30); do echo "RUN echo step $i > /s$i"; done; } > "$work/steps/Dockerfile"
  # One step (not the first of the 30, which every tool would find cached): what a
  # build with RUN steps costs before its second step.
  mkdir -p "$work/step1"
  printf 'FROM busybox:latest\nRUN echo one step > /s1\n' > "$work/step1/Dockerfile"
  mkdir -p "$work/edit/src"
  for i in $(seq 1 200); do echo "line $i" > "$work/edit/src/f$i"; done
  printf 'FROM busybox:latest\nRUN echo deps > /deps\nCOPY src /src\nRUN cat /src/* | wc -l > /count\n' > "$work/edit/Dockerfile"
}
mk_stage_contexts() {
  mkdir -p "$work/stages" "$work/stages-cpu"
  printf 'FROM busybox:latest AS builder\nRUN sleep 2 && echo built > /out\nFROM busybox:latest\nRUN sleep 2 && echo rt > /rt\nCOPY --from=builder /out /out\n' \
    > "$work/stages/Dockerfile"
  # The same shape with work for a core in each RUN (hashing 1.5 GB of zeros).
  printf 'FROM busybox:latest AS builder\nRUN head -c 1500000000 /dev/zero | md5sum > /out\nFROM busybox:latest\nRUN head -c 1500000001 /dev/zero | md5sum > /rt\nCOPY --from=builder /out /out\n' \
    > "$work/stages-cpu/Dockerfile"
}
