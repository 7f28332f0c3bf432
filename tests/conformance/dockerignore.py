#!/usr/bin/env python3
"""conformance/dockerignore/cases.tsv against `kiln debug ignore`.

Rows sharing a pattern set are decided by one kiln call. An `error` row passes
when kiln exits 2 (invalid pattern file, the line named in the message)."""
import os
import subprocess
import sys
import tempfile

KILN, DIR = sys.argv[1], sys.argv[2]
rows = []
with open(os.path.join(DIR, "cases.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        pats, path, want = line.rstrip("\n").split("\t")
        rows.append((pats, path, want))

groups = {}
for i, (pats, path, want) in enumerate(rows):
    groups.setdefault(pats, []).append(i)

passed = failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for gi, (pats, idxs) in enumerate(groups.items()):
        pf = os.path.join(tmp, f"p{gi}")
        with open(pf, "w", encoding="utf-8") as f:
            f.write("".join(p + "\n" for p in (pats.split("\x1f") if pats else [])))
        paths = [rows[i][1] for i in idxs]
        p = subprocess.run([KILN, "debug", "ignore", pf, *paths], capture_output=True)
        out = p.stdout.decode().splitlines()
        for k, i in enumerate(idxs):
            want = rows[i][2]
            if want == "error":
                ok = p.returncode == 2 and f"{pf}:" in p.stderr.decode()
                got = f"exit {p.returncode}"
            elif p.returncode != 0:
                ok, got = False, f"exit {p.returncode}: {p.stderr.decode().strip()}"
            else:
                got = out[k].split("\t")[1]
                ok = got == ("excluded" if want == "true" else "included")
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"  row {i + 2}: patterns {pats.split(chr(31))!r} path {rows[i][1]!r}: want {want}, got {got}")
print(f"dockerignore: {passed}/{passed + failed}")
sys.exit(1 if failed else 0)
