#!/usr/bin/env python3
"""Writes run-time seeds for a fuzz target from real inputs: the conformance corpora
(never copied into the repository) and the hostile tars of the store tests.

usage: seeds.py TARGET CONFORMANCE OUTDIR   (TARGET as in fuzz_TARGET; others get none)"""
import glob
import os
import subprocess
import sys
import tempfile

target, conf, out = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
MAX = 65536  # the fuzz loop's -max_len
written = 0


def seed(name, data):
    global written
    if len(data) > MAX:
        return
    with open(os.path.join(out, "conf-" + name.replace("/", "_")), "wb") as f:
        f.write(data)
    written += 1


def files(*patterns):
    for p in patterns:
        for f in sorted(glob.glob(os.path.join(conf, p), recursive=True)):
            if os.path.isfile(f):
                with open(f, "rb") as fh:
                    yield os.path.relpath(f, conf), fh.read()


if target in ("parser", "stages"):
    for name, data in files("buildkit-parser/**/Dockerfile*", "real-dockerfiles/*",
                            "buildkit-integration/*/Dockerfile"):
        seed(name, data)
elif target == "expand":
    # Words of BuildKit's shell tables; the first byte is the harness's options (none).
    for name, data in files("buildkit-shell/wordsTest", "buildkit-shell/envVarTest"):
        for i, line in enumerate(data.split(b"\n")):
            if not line or line.startswith(b"#") or line.startswith(b"ENV "):
                continue
            parts = line.split(b"|")
            word = parts[1] if name.endswith("envVarTest") and len(parts) >= 3 else parts[0]
            seed("%s-%d" % (name, i), b"\0" + word.strip())
elif target == "ignore":
    # moby/patternmatcher's tables: patterns (0x1F-joined) become the file, then NUL, the path.
    for name, data in files("dockerignore/cases.tsv"):
        for i, line in enumerate(data.split(b"\n")[1:]):
            cols = line.split(b"\t")
            if len(cols) >= 2:
                seed("%s-%d" % (name, i), cols[0].replace(b"\x1f", b"\n") + b"\0" + cols[1])
elif target == "image":
    for name, data in files("oci-image-spec-schema/examples/*.json"):
        seed(name, data)
elif target == "seccomp":
    # docker's default profile, whole (under max_len) and as single rules.
    import json
    for name, data in files("docker-defaults/seccomp-default.json"):
        seed(name, data)
        prof = json.loads(data)
        for i, rule in enumerate(prof["syscalls"]):
            one = dict(prof, syscalls=[rule])
            one.pop("archMap", None)
            seed("%s-rule%d" % (name, i), json.dumps(one).encode())
elif target == "gotemplate":
    # docker's --format corpus: flag byte, template, NUL, the row's JSON input.
    for name, data in files("docker-format/cases.tsv"):
        def unescape(b):
            out, i = bytearray(), 0
            while i < len(b):
                if b[i:i + 1] == b"\\" and i + 1 < len(b):
                    c = b[i + 1:i + 2]
                    out += {b"t": b"\t", b"n": b"\n", b"r": b"\r"}.get(c, c)
                    i += 2
                else:
                    out += b[i:i + 1]
                    i += 1
            return bytes(out)
        for i, line in enumerate(data.split(b"\n")[1:]):
            cols = line.split(b"\t")
            if len(cols) >= 3:
                seed("%s-%d" % (name, i), bytes([8 * (i & 1)]) + unescape(cols[1]) + b"\0" + unescape(cols[2]))
elif target == "layer":
    with tempfile.TemporaryDirectory() as tmp:
        # OUTSIDE is where an escape would write: a directory of this run, never used.
        subprocess.run([sys.executable, os.path.join(here, "..", "integration", "hostile_tars.py"),
                        os.path.join(tmp, "tars"), os.path.join(tmp, "outside")],
                       check=True, stdout=subprocess.DEVNULL)
        for f in sorted(glob.glob(os.path.join(tmp, "tars", "*.tar"))):
            with open(f, "rb") as fh:
                seed("hostile-" + os.path.basename(f), fh.read())
print(written)
