#!/usr/bin/env python3
"""conformance/dockerignore/cases.tsv through a whole build: for each pattern set,
a context holding the rows' paths as files; what `kiln debug context` lists must
equal what `COPY . /app` copies, and the files kept must be the rows docker keeps.

Usage: dockerignore_context.py KILN CASES_DIR  (KILN_ROOT is set to a temporary store)"""
import os
import subprocess
import sys
import tempfile

KILN, DIR = sys.argv[1], sys.argv[2]
groups = {}
with open(os.path.join(DIR, "cases.tsv"), encoding="utf-8") as f:
    next(f)
    for line in f:
        pats, path, want = line.rstrip("\n").split("\t")
        if want != "error":
            groups.setdefault(pats, []).append((path, want))


def tree(root):
    """Paths below root, '/'-separated, directories with a trailing '/'."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            out.add(os.path.normpath(os.path.join(rel, n)) + "/")
        for n in files:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


passed = failed = 0
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, KILN_ROOT=os.path.join(tmp, "store"))
    for gi, (pats, rows) in enumerate(groups.items()):
        ctx, df, out = (os.path.join(tmp, f"{k}{gi}") for k in ("ctx", "df", "out"))
        os.makedirs(ctx)
        os.makedirs(df)
        paths = {p.strip("/") for p, _ in rows} - {"", "."}
        # A path that holds another is a directory; the rest are files (the leaves checked).
        leaves = {p for p in paths if not any(q.startswith(p + "/") for q in paths)}
        for p in leaves:
            os.makedirs(os.path.dirname(os.path.join(ctx, p)), exist_ok=True)
            with open(os.path.join(ctx, p), "w") as fh:
                fh.write(p)
        dockerfile = os.path.join(df, "Dockerfile")
        with open(dockerfile, "w") as fh:
            fh.write("FROM scratch\nCOPY . /app\n")
        with open(dockerfile + ".dockerignore", "w", encoding="utf-8") as fh:
            fh.write("".join(p + "\n" for p in (pats.split("\x1f") if pats else [])))
        want = {p.strip("/") for p, w in rows if w == "false"} & leaves
        listed = subprocess.run([KILN, "debug", "context", "-f", dockerfile, ctx], capture_output=True, env=env)
        built = subprocess.run([KILN, "build", "-q", "-f", dockerfile, "-o", f"type=local,dest={out}", ctx],
                               capture_output=True, env=env)
        problems = []
        if listed.returncode or built.returncode:
            problems.append(f"exit {listed.returncode}/{built.returncode}: "
                            f"{(listed.stderr + built.stderr).decode().strip()}")
        else:
            listing = set(listed.stdout.decode().splitlines())
            copied = tree(os.path.join(out, "app")) if os.path.isdir(os.path.join(out, "app")) else set()
            if listing != copied:
                problems.append(f"debug context {sorted(listing)} != COPY {sorted(copied)}")
            if listing & leaves != want:
                problems.append(f"kept {sorted(listing & leaves)}, docker keeps {sorted(want)}")
        if problems:
            failed += 1
            print(f"  patterns {pats.split(chr(31))!r}: " + "; ".join(problems))
        else:
            passed += 1
print(f"dockerignore context: {passed}/{passed + failed}")
sys.exit(1 if failed else 0)
