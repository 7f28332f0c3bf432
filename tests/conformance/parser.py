#!/usr/bin/env python3
"""BuildKit's parser corpus (conformance/buildkit-parser) and the real-world
Dockerfiles (conformance/real-dockerfiles) against `kiln debug parse` / `stages`.

Prints: parser: N/33, negative: N/4, lines: ok, heredoc: N/N, real: N/70."""
import json
import os
import subprocess
import sys

KILN, CONF = sys.argv[1], sys.argv[2]
PARSER = os.path.join(CONF, "buildkit-parser")
failures = 0


def run(*args):
    return subprocess.run([KILN, *args], capture_output=True)


def report(name, passed, total):
    global failures
    failures += total - passed
    print(f"{name}: {passed}/{total}")


# testfiles: the dump matches `result` byte for byte.
cases = sorted(os.listdir(os.path.join(PARSER, "testfiles")))
ok = 0
for c in cases:
    d = os.path.join(PARSER, "testfiles", c)
    p = run("debug", "parse", os.path.join(d, "Dockerfile"))
    want = open(os.path.join(d, "result"), "rb").read()
    if p.returncode == 0 and p.stdout == want:
        ok += 1
    else:
        print(f"  testfiles/{c}: exit {p.returncode}\n{p.stderr.decode()}")
report("parser", ok, len(cases))

# testfiles-negative: non-zero exit, the error names FILE:LINE.
cases = sorted(os.listdir(os.path.join(PARSER, "testfiles-negative")))
ok = 0
for c in cases:
    f = os.path.join(PARSER, "testfiles-negative", c, "Dockerfile")
    p = run("debug", "parse", f)
    err = p.stderr.decode()
    if p.returncode == 1 and err.startswith(f + ":") and err.split(":")[1].isdigit():
        ok += 1
    else:
        print(f"  testfiles-negative/{c}: exit {p.returncode}: {err}")
report("negative", ok, len(cases))

# testfile-line: documented spans.
p = run("debug", "parse", "--json", os.path.join(PARSER, "testfile-line", "Dockerfile"))
ast = json.loads(p.stdout)
spans = [(n["start_line"], n["end_line"]) for n in ast["nodes"]]
want = [(5, 5), (11, 12), (17, 31)]
good = (ast["start_line"], ast["end_line"]) == (5, 31) and spans == want
if not good:
    print(f"  testfile-line: root {(ast['start_line'], ast['end_line'])} children {spans}")
report("lines", 1 if good else 0, 1)

# heredoc/: names, bodies, expansion, chomping, fd (heredoc/README.md).
HD = [
    [], [], [], [], [],
    [("EMPTY", "", True, False, 0)],
    [("EMPTY2", "", True, False, 3)],
    [],
    [("INDENT", "\tfoo\n\tbar\n", True, False, 0)],
    [("UNINDENT", "\tbaz\n\tquux\n", True, True, 0)],
    [("UNINDENT2", "\tbaz\n\tquux\n", True, True, 0)],
    [("EXPAND", "\texpand $NAME\n", True, True, 0)],
    [("NOEXPAND", "\tdon't expand $NAME\n", False, True, 0)],
    [("COPY", "echo hello world\necho foo bar\n", True, False, 0)],
    [("COMMENT", "# internal comment\necho hello world\necho foo bar # trailing comment\n", True, False, 0)],
    [("MOUNT", "echo hello\n", True, False, 0)],
    [("FILE1", "content 1\n", True, False, 0), ("FILE2", "content 2\n", True, False, 0)],
    [("EOF", "\"foo\"\n'bar'\n", True, False, 0)],
    [("X", "Y\n", True, False, 0), ("Y", "X\n", True, False, 0)],
    [("COMPLEX", "print('hello world')\n", True, False, 0)],
    [("file.txt", "hello world\n", True, False, 0)],
    [("eof", "echo foo\n", False, False, 0)],
    [("eo'f", "echo foo\n", True, False, 0)],
    [("eo'f", "echo foo\n", False, False, 0)],
    [("one two", "echo bar\n", False, False, 0)],
    [("$EOF", "", True, False, 0)],
    [("EOF", "", True, False, 0)],
    [("EOF", "", True, False, 0)],
]
p = run("debug", "parse", "--json", os.path.join(PARSER, "heredoc", "Dockerfile"))
nodes = json.loads(p.stdout)["nodes"]
ok = 0
total = len(HD) + 1
for i, want in enumerate(HD):
    got = [(h["name"], h["content"], h["expand"], h["chomp"], h["fd"]) for h in nodes[i]["heredocs"]] if i < len(nodes) else None
    if got == want:
        ok += 1
    else:
        print(f"  heredoc #{i}: want {want}, got {got}")
p = run("debug", "parse", "--json", os.path.join(PARSER, "heredoc", "Dockerfile.json-form"))
if p.returncode == 0 and all(not n["heredocs"] for n in json.loads(p.stdout)["nodes"]):
    ok += 1
else:
    print("  heredoc json-form: heredocs found in JSON form")
report("heredoc", ok, total)

# real-world Dockerfiles: every file parses and its stages resolve.
REAL = os.path.join(CONF, "real-dockerfiles")
files = sorted(f for f in os.listdir(REAL) if f not in ("README.md", "SOURCES.tsv"))
ok = 0
stages = "--no-stages" not in sys.argv
for f in files:
    path = os.path.join(REAL, f)
    p = run("debug", "parse", path)
    if p.returncode == 0 and stages:
        p = run("debug", "stages", path)
    if p.returncode == 0:
        ok += 1
    else:
        print(f"  real/{f}: {p.stderr.decode()}")
report("real", ok, len(files))
sys.exit(1 if failures else 0)
