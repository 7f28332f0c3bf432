#!/usr/bin/env python3
"""Writes hostile layer tars for the store tests: each tries to write outside the
snapshot it is applied to (OUTSIDE is an absolute directory that must stay empty).

usage: hostile_tars.py DIR OUTSIDE      → DIR/NAME.tar, and DIR/expect listing
NAME<TAB>contained|rejected<TAB>what must hold inside the snapshot."""
import io
import os
import sys
import tarfile

out, outside = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rel_up = "../" * 12 + outside.lstrip("/")
cases = []


def tar(name, entries, expect, check=""):
    with tarfile.open(os.path.join(out, name + ".tar"), "w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = e.get("type", tarfile.REGTYPE)
            info.mode = e.get("mode", 0o644)
            info.linkname = e.get("link", "")
            data = e.get("data", b"pwned\n")
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                    info.devmajor, info.devminor = e.get("dev", (8, 0))
                t.addfile(info)
    cases.append((name, expect, check))


F, D, S, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
tar("absolute-path", [{"name": outside + "/pwned"}], "contained", "f " + outside.lstrip("/") + "/pwned")
tar("dotdot-path", [{"name": rel_up + "/pwned"}], "rejected")
tar("dotdot-inside", [{"name": "a/../../pwned"}], "rejected")
tar("symlink-to-root-then-write", [{"name": "link", "type": S, "link": "/"},
                                   {"name": "link" + outside + "/pwned"}], "contained",
    "f " + outside.lstrip("/") + "/pwned")
tar("symlink-up-then-write", [{"name": "up", "type": S, "link": rel_up},
                              {"name": "up/pwned"}], "rejected")
tar("symlink-absolute-then-write", [{"name": "abs", "type": S, "link": outside},
                                    {"name": "abs/pwned"}], "rejected")
tar("symlink-absolute-existing", [{"name": "etc", "type": D, "mode": 0o755},
                                  {"name": "abs", "type": S, "link": "/etc"},
                                  {"name": "abs/pwned"}], "contained", "f etc/pwned")
tar("symlink-replaced-by-dir", [{"name": "d", "type": S, "link": outside},
                                {"name": "d", "type": D, "mode": 0o755},
                                {"name": "d/pwned"}], "contained", "f d/pwned")
tar("hardlink-absolute-target", [{"name": "etc", "type": D, "mode": 0o755},
                                 {"name": "etc/passwd", "data": b"root:x:0:0::/root:/bin/sh\n"},
                                 {"name": "hl", "type": H, "link": "/etc/passwd"}], "contained", "f hl")
tar("hardlink-dotdot-target", [{"name": "hl", "type": H, "link": rel_up + "/x"}], "rejected")
tar("hardlink-through-symlink", [{"name": "s", "type": S, "link": outside + "/victim"},
                                 {"name": "h", "type": H, "link": "s"}], "contained", "l h")
tar("device-nodes", [{"name": "sda", "type": tarfile.BLKTYPE, "dev": (8, 0)},
                     {"name": "mem", "type": tarfile.CHRTYPE, "dev": (1, 1)},
                     {"name": "ok"}], "contained", "f ok")
tar("whiteout-dotdot", [{"name": ".wh.."}], "rejected")
tar("file-then-dir-then-file", [{"name": "x"}, {"name": "x", "type": D, "mode": 0o755},
                                {"name": "x/y"}], "contained", "f x/y")
tar("parent-is-symlink-chain", [{"name": "a", "type": S, "link": "b"}, {"name": "b", "type": S, "link": "c"},
                                {"name": "c", "type": S, "link": outside},
                                {"name": "a/pwned"}], "rejected")
with open(os.path.join(out, "expect"), "w") as f:
    for name, expect, check in cases:
        f.write(f"{name}\t{expect}\t{check}\n")
