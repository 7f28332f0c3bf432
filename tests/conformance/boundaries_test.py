#!/usr/bin/env python3
"""Tests boundaries.py on fake source trees: a clean tree passes, each rule catches its
breach, the allow-list excuses exactly what it names (with ceilings for sizes), and a
stale entry fails.

    boundaries_test.py
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "boundaries.py")

CLEAN = {
    "src/store/store_private.h": "struct kiln_store\n{\n  int root_fd;\n};\n",
    "src/store/store.h": "struct kiln_store;\n/* store_exec and sqlite3_step live in the .c */\n",
    "src/store/store.c": '#include "store/store_private.h"\nint\nf (void)\n{\n  return sqlite3_step (0);\n}\n',
    "src/cli/cmd.c": '#include "frontend/parser.h"\n/* no sqlite3_step here: a comment */\n'
    'static const char *s = "sqlite3_open";\n',
    "src/frontend/parser.c": '#include "frontend/parser.h"\n',
    "src/image/image.c": "static int\nshort_one (int a,\n           int b)\n{\n  return a + b;\n}\n"
    "struct big\n{\n" + "  int x;\n" * 200 + "};\n",
}


def body(n):
    """A function `name` whose braces span n lines."""
    return "static int\nlong_one (void)\n{\n" + "  ;\n" * (n - 2) + "}\n"


def run(files, allow=""):
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        a = os.path.join(d, "allow.txt")
        with open(a, "w") as f:
            f.write(allow)
        p = subprocess.run([sys.executable, CHECK, os.path.join(d, "src"), a], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


failures = []


def expect(what, files, code, needle=None, allow=""):
    rc, out = run(files, allow)
    if rc != code or (needle and needle not in out):
        failures.append("%s: exit %d (want %d), output:\n%s" % (what, rc, code, out))


def with_(extra):
    t = dict(CLEAN)
    t.update(extra)
    return t


expect("clean tree", CLEAN, 0)
expect("sqlite3_ in image/", with_({"src/image/x.c": "void g (void) { sqlite3_finalize (0); }\n"}), 1,
       "new breach: sql:src/image/x.c")
expect("store_exec in registry/", with_({"src/registry/x.c": 'int g (void) { return store_exec (st, e, "DELETE", 0); }\n'}),
       1, "new breach: sql:src/registry/x.c")
expect("store_private.h outside the store", with_({"src/solver/x.c": '#include "store/store_private.h"\n'}), 1,
       "new breach: store-private:src/solver/x.c")
expect("store_private.h in a store header", with_({"src/store/y.h": '#include "store/store_private.h"\n'}), 1,
       "new breach: store-private:src/store/y.h")
expect("struct kiln_store in a public header", with_({"src/store/store.h": "struct kiln_store {\n  int fd;\n};\n"}), 1,
       "new breach: store-struct:src/store/store.h")
expect("struct kiln_store outside the store", with_({"src/cli/x.c": "struct kiln_store\n{\n  int fd;\n};\n"}), 1,
       "new breach: store-struct:src/cli/x.c")
expect("frontend include in worker/", with_({"src/worker/x.h": '#include "frontend/stages.h"\n'}), 1,
       "new breach: frontend-include:src/worker/x.h")
expect("context include in worker/", with_({"src/worker/x.c": '#include "context/ignore.h"\n'}), 0)
expect("file too long", with_({"src/util/big.c": "int x;\n" * 1001}), 1, "new breach: file-lines:src/util/big.c (1001")
expect("file at the limit", with_({"src/util/big.c": "int x;\n" * 1000}), 0)
expect("function too long", with_({"src/util/f.c": body(151)}), 1, "new breach: function-lines:src/util/f.c:long_one (151")
expect("function at the limit", with_({"src/util/f.c": body(150)}), 0)
# The counter matches braces: neither the brace style nor a "}" at column 0 inside a
# body (a macro's continuation, an initializer) hides a long function.
expect("function opened at the end of its head",
       with_({"src/util/f.c": "static int long_one (void) {\n" + "  ;\n" * 150 + "}\n"}), 1,
       "new breach: function-lines:src/util/f.c:long_one (152")
expect("function with a column-0 brace inside",
       with_({"src/util/f.c": "static int\nlong_one (void)\n{\n  static const int t[] = {\n1,\n};\n"
                              + "  ;\n" * 146 + "}\n"}), 1, "new breach: function-lines:src/util/f.c:long_one (151")
expect("function with an attribute in its head",
       with_({"src/util/f.c": "__attribute__ ((unused)) static int\nlong_one (void)\n{\n" + "  ;\n" * 149 + "}\n"}),
       1, "new breach: function-lines:src/util/f.c:long_one (151")
expect("long initializer is no function",
       with_({"src/util/f.c": "static const int t[] =\n{\n" + "  1,\n" * 200 + "};\n"}), 0)

allowed = "sql:src/image/x.c\tfake reason\n"
expect("allowed breach", with_({"src/image/x.c": "void g (void) { sqlite3_finalize (0); }\n"}), 0, allow=allowed)
expect("stale entry", CLEAN, 1, "sql:src/image/x.c: no longer breaks the rule", allow=allowed)
expect("entry without a reason", CLEAN, 1, "expected ID<TAB>reason", allow="sql:src/image/x.c\n")
sized = "function-lines:src/util/f.c:long_one\t160\tfake reason\n"
expect("function under its ceiling", with_({"src/util/f.c": body(160)}), 0, allow=sized)
expect("function past its ceiling", with_({"src/util/f.c": body(161)}), 1, "161 lines, more than its allowed 160",
       allow=sized)
expect("size entry without a ceiling", with_({"src/util/f.c": body(160)}), 1, "expected ID<TAB>CEILING<TAB>reason",
       allow="function-lines:src/util/f.c:long_one\tfake reason\n")

for f in failures:
    print("FAIL " + f)
print("boundaries_test: %d failures" % len(failures))
sys.exit(1 if failures else 0)
