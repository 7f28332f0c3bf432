#!/usr/bin/env python3
"""Checks the boundaries between kiln's modules (docs/ARCHITECTURE.md, "Boundaries").

    boundaries.py SRC_DIR ALLOW_LIST

Reads the .c and .h files below SRC_DIR (paths are reported relative to its parent,
"src/store/store.c") and finds:

  sql:FILE               SQL outside src/store/: sqlite3_*, store_exec, store_prepare,
                         store_db_error (the store owns its schema: callers use the
                         record functions of src/store/*.h)
  store-private:FILE     #include "store/store_private.h" outside src/store/*.c
  store-struct:FILE      `struct kiln_store {` anywhere but src/store/store_private.h
                         and src/store/*.c (the struct is opaque)
  frontend-include:FILE  #include "frontend/..." outside src/frontend/ and src/cli/
                         (the Dockerfile stays in the frontend; the solver gets a graph)
  file-lines:FILE        a file over MAX_FILE_LINES lines
  function-lines:FILE:F  a function over MAX_FUNCTION_LINES lines (its braces matched,
                         whatever the style; the name is the first before "(" in its
                         head)

ALLOW_LIST holds today's exceptions, one a line: "ID<TAB>reason", or for the two size
rules "ID<TAB>CEILING<TAB>reason" (the size may shrink, not grow past CEILING).  A
finding not in the list fails the run; so does an entry that no longer matches a
finding (drop it: the list only shrinks).  Exit 0 when clean, 1 otherwise.
"""
import os
import re
import sys

MAX_FILE_LINES = 1000
MAX_FUNCTION_LINES = 150

SQL = re.compile(r"\bsqlite3_\w+|\bstore_(exec|prepare|db_error)\s*\(")
STORE_PRIVATE = re.compile(r'^\s*#\s*include\s+"store/store_private\.h"', re.M)
STORE_STRUCT = re.compile(r"\bstruct\s+kiln_store\s*\{")
FRONTEND_INCLUDE = re.compile(r'^\s*#\s*include\s+"frontend/', re.M)
FUNC_NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")


def strip_comments(text):
    """The text with comments and string literals blanked (newlines kept), so that a
    rule matches code only."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def function_name(head):
    """The name in a function's head: the identifier before the last "(" at the top
    level of parentheses ("__attribute__ ((x)) int f (void)" is f)."""
    name, level = None, 0
    for m in re.finditer(r"[()]", head):
        if m.group() == "(":
            if level == 0:
                ident = re.search(r"([A-Za-z_]\w*)\s*\($", head[: m.end()])
                name = ident.group(1) if ident else name
            level += 1
        else:
            level = max(0, level - 1)
    return name


def functions(lines):
    """(name, length in lines) of each function body: from the line of its opening
    "{" to the line of the matching "}" (both counted).  Braces are counted, not
    columns, so a body opened at the end of its head ("f (void) {") or a "}" at
    column 0 inside a body (a macro's, an initializer's) counts as it compiles;
    preprocessor lines (and their continuations) hold no code of a body's nesting.
    A top-level block is a function when the code before its "{" (since the last
    ";", "}" or preprocessor line) ends with ")" and has no "=" (an initializer)."""
    found = []
    depth = 0
    start = None
    head = []
    in_directive = False
    for i, line in enumerate(lines):
        directive = in_directive or line.lstrip().startswith("#")
        in_directive = directive and line.rstrip().endswith("\\")
        if directive:
            if depth == 0:
                head = []
            continue
        for ch in line:
            if depth == 0 and ch not in "{}":
                head.append(ch)
                if ch == ";":
                    head = []
            elif ch == "{":
                if depth == 0:
                    start = i
                    text = "".join(head).strip()
                    name = function_name(text) if text.endswith(")") and "=" not in text else None
                    head = []
                depth += 1
            elif ch == "}" and depth > 0:
                depth -= 1
                if depth == 0:
                    if name:
                        found.append((name, i - start + 1))
                    head = []
        if depth == 0:
            head.append("\n")
    return found


def findings(src_dir):
    """{id: size or None} for every breach below src_dir."""
    top = os.path.dirname(os.path.abspath(src_dir))
    out = {}
    for base, dirs, files in os.walk(src_dir):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(base, f)
            rel = os.path.relpath(path, top).replace(os.sep, "/")
            with open(path, encoding="utf-8", errors="replace") as fh:
                raw = fh.read()
            code = strip_comments(raw)
            in_store = rel.startswith("src/store/")
            if not in_store and SQL.search(code):
                out["sql:" + rel] = None
            if STORE_PRIVATE.search(raw) and not (in_store and rel.endswith(".c")):
                out["store-private:" + rel] = None
            if STORE_STRUCT.search(code) and not (
                rel == "src/store/store_private.h" or (in_store and rel.endswith(".c"))
            ):
                out["store-struct:" + rel] = None
            if FRONTEND_INCLUDE.search(raw) and not rel.startswith(("src/frontend/", "src/cli/")):
                out["frontend-include:" + rel] = None
            lines = raw.split("\n")
            if raw.endswith("\n"):
                lines.pop()
            if len(lines) > MAX_FILE_LINES:
                out["file-lines:" + rel] = len(lines)
            seen = {}
            for name, length in functions(code.split("\n")):
                if length > MAX_FUNCTION_LINES:
                    key = "function-lines:%s:%s" % (rel, name)
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] > 1:
                        key += "#%d" % seen[key]
                    out[key] = length
    return out


def read_allow(path):
    allow = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split("\t")
            ident = parts[0]
            sized = ident.startswith(("file-lines:", "function-lines:"))
            if sized:
                if len(parts) != 3 or not parts[1].isdigit() or not parts[2].strip():
                    sys.exit("%s:%d: expected ID<TAB>CEILING<TAB>reason" % (path, n))
                allow[ident] = int(parts[1])
            else:
                if len(parts) != 2 or not parts[1].strip():
                    sys.exit("%s:%d: expected ID<TAB>reason" % (path, n))
                allow[ident] = None
    return allow


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: boundaries.py SRC_DIR ALLOW_LIST")
    found = findings(argv[1])
    allow = read_allow(argv[2])
    bad = []
    for ident, size in sorted(found.items()):
        if ident not in allow:
            limit = ""
            if ident.startswith("file-lines:"):
                limit = " (%d lines, at most %d)" % (size, MAX_FILE_LINES)
            elif ident.startswith("function-lines:"):
                limit = " (%d lines, at most %d)" % (size, MAX_FUNCTION_LINES)
            bad.append("new breach: %s%s" % (ident, limit))
        elif size is not None and size > allow[ident]:
            bad.append("%s: %d lines, more than its allowed %d" % (ident, size, allow[ident]))
    for ident in sorted(allow):
        if ident not in found:
            bad.append("%s: no longer breaks the rule: drop it from %s" % (ident, argv[2]))
    for b in bad:
        print("boundaries: " + b)
    print("boundaries: %d findings, %d allowed, %d problems" % (len(found), len(allow), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
