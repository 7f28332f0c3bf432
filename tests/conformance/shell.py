#!/usr/bin/env python3
"""BuildKit's shell-lexer tables (conformance/buildkit-shell) against `kiln debug expand`.

envVarTest: every Unix (U) and all-platform (A) row; wordsTest: every row.
Prints one figure per table and exits 1 if any row fails."""
import os
import subprocess
import sys

KILN = sys.argv[1]
DIR = sys.argv[2]
VERBOSE = os.environ.get("VERBOSE")


def expand(text, env, words=False):
    cmd = [KILN, "debug", "expand"]
    for k, v in env:
        cmd += ["-e", f"{k}={v}"]
    if words:
        cmd.append("--words")
    cmd += ["--", text]
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode == 2:
        raise SystemExit(f"usage error for {cmd}: {p.stderr.decode()}")
    if p.returncode != 0:
        return None
    out = p.stdout.decode("utf-8", "surrogateescape")
    assert out.endswith("\n")
    out = out[:-1]
    return out.split("\n") if words and out else ([] if words else out)


def env_var_test():
    env = [("PWD", "/home"), ("SHELL", "bash"), ("KOREAN", "한국어"), ("NULL", "")]
    passed = failed = 0
    with open(os.path.join(DIR, "envVarTest"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            plat, inp, exp = line.split("|", 2)
            if plat == "W":
                continue
            inp, exp = inp.strip(), exp.strip()
            got = expand(inp, env)
            ok = (got is None) if exp == "error" else (got == exp)
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"  envVarTest:{lineno}: {inp!r}: expected {exp!r}, got {got!r}")
    return passed, failed


def words_test():
    env = []
    passed = failed = 0
    with open(os.path.join(DIR, "wordsTest"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith("ENV "):
                name, _, value = line[4:].partition("=")
                env.append((name, value))
                continue
            inp, _, exp = line.partition("|")
            inp = inp.strip()
            exp = exp.lstrip(" ")
            want = exp.split(",")
            got = expand(inp, env, words=True)
            ok = (got is None) if want == ["error"] else (got == want)
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"  wordsTest:{lineno}: {inp!r}: expected {want!r}, got {got!r}")
    return passed, failed


p1, f1 = env_var_test()
p2, f2 = words_test()
print(f"shell: {p1}/{p1 + f1} + {p2}/{p2 + f2}")
sys.exit(1 if f1 or f2 else 0)
