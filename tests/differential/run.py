#!/usr/bin/env python3
"""Differential harness: builds each case with kiln and with docker's BuildKit and
compares the two images.

usage: run.py KILN CONFORMANCE_DIR [-q] [--debian] [--only SUBSTRING]...
  -q        print only differences, stale allow entries and the summary
  --debian  also examples/c-service (both targets) on debian-build:bookworm
            (scripts/base-images debian; ~800 MB into each store, so not by default)

A dockerd is started by hand on its own socket, data and exec roots (as
bench/build.sh does; no bridge, no iptables rules: docker builds use
--network host) and stopped at the end, whatever happens. Its base images come
from scripts/base-images through `kiln save` / `docker load`; nothing is pulled.

Cases (each builds one image, or fails to):
  own/NAME      tests/differential/cases/NAME/ (Dockerfile + context; an `args`
                file holds extra build flags, shell-quoted, one line)
  bki/NAME      BuildKit's integration corpus, the entries of corpus.txt
  bats/F-HASH   the one-argument `df '...'` Dockerfiles of tests/integration/F.bats
                (BATS_FILES, less BATS_EXCLUDE), the context holding only the Dockerfile
  ex/NAME       examples/busybox-service; examples/c-service with --debian

Compared: the build's outcome (both succeed or both fail), the config fields of
CONFIG_FIELDS, history aligned by instruction (entries one side lacks, layer vs
empty_layer), and the merged file listing of the
layers (type, mode, uid/gid, size, link target, content digest; mtimes ignored)
with its hardlink groups. Every difference must be in allow.txt (CASE KEY-GLOB
REASON); one that is not, or an entry that matches no difference, fails the run.
Exit 77 (and a message) when dockerd is not installed or cannot start.
"""
import difflib
import fnmatch
import hashlib
import json
import os
import posixpath
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DOCKER = "/usr/bin/docker"  # Debian's docker.io 20.10 client (/usr/local/bin's needs buildx)
DOCKERD = os.environ.get("KILN_DIFF_DOCKERD", "/usr/sbin/dockerd")  # a missing path tests the skip
SKIP = 77
BUILD_TIMEOUT = 120

CONFIG_FIELDS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels", "ExposedPorts",
                 "Volumes", "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped"]
# Fields where docker leaves out what is empty and kiln may write it empty (or the reverse).
EMPTY_IS_ABSENT = {"Labels", "ExposedPorts", "Volumes", "OnBuild", "Env", "WorkingDir",
                   "User", "StopSignal", "ArgsEscaped"}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


class Dockerd:
    """A dockerd of our own, stopped (and its mounts undone) by stop()."""

    def __init__(self, work):
        self.work = work
        self.proc = None
        self.env = dict(os.environ, DOCKER_HOST="unix://%s/docker.sock" % work, DOCKER_BUILDKIT="1")
        self.log = os.path.join(work, "dockerd.log")

    def start(self):
        if not (os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)):
            return "docker.io is not installed (%s, %s)" % (DOCKERD, DOCKER)
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [DOCKERD, "--host", self.env["DOCKER_HOST"], "--data-root", self.work + "/docker",
                 "--exec-root", self.work + "/x", "--pidfile", self.work + "/docker.pid",
                 "--bridge=none", "--iptables=false", "--ip6tables=false"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(120):
            if self.proc.poll() is not None:
                break
            if run([DOCKER, "version"], env=self.env).returncode == 0:
                return None
            time.sleep(0.25)
        tail = open(self.log).read()[-600:]
        return "dockerd did not start:\n" + tail

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for d in ("docker", "x"):
            subprocess.run(["umount", "-R", os.path.join(self.work, d)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---- cases -----------------------------------------------------------------

class Case:
    def __init__(self, name, src, flags, links=(), printf=None):
        self.name, self.src, self.flags, self.links = name, src, flags, list(links)
        self.printf = printf  # a Dockerfile as a printf format (bats cases)

    def tag(self):
        return "diff-" + self.name.replace("/", "-").replace(":", "-").lower() + ":1"


def load_cases(conformance, debian=False):
    cases, skipped = [], []
    own = os.path.join(HERE, "cases")
    for n in sorted(os.listdir(own)):
        d = os.path.join(own, n)
        flags = []
        if os.path.exists(os.path.join(d, "args")):
            flags = shlex.split(open(os.path.join(d, "args")).read())
        cases.append(Case("own/" + n, d, flags))
    corpus = os.path.join(conformance, "buildkit-integration")
    for line in open(os.path.join(HERE, "corpus.txt")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            name, _, why = line[1:].partition(" ")
            skipped.append(("bki/" + name, why.strip()))
            continue
        words = shlex.split(line)
        name, dirname = words[0], words[0].split(":")[0]
        links = [w[len("--ln="):] for w in words[1:] if w.startswith("--ln=")]
        flags = [w for w in words[1:] if not w.startswith("--ln=")]
        cases.append(Case("bki/" + name, os.path.join(corpus, dirname), flags, links))
    cases += bats_cases(skipped)
    for n in ["busybox-service"]:
        cases.append(Case("ex/" + n, os.path.join(TOP, "examples", n), []))
    if debian:
        for target in ["production", "development"]:
            cases.append(Case("ex/c-service:" + target, os.path.join(TOP, "examples/c-service"), ["--target", target]))
    else:
        skipped.append(("ex/c-service", "needs debian-build:bookworm: run with --debian"))
    return cases, skipped


# The Dockerfiles of the bats files (`df '...'`, one printf format), built with a
# context holding only the Dockerfile. Left out, with why:
BATS_FILES = ["build.bats", "build_flags.bats", "defects.bats", "graph.bats", "stages.bats"]
BATS_EXCLUDE = [
    (r"<<", "heredocs: docker 20.10 has none"),
    (r"sleep [0-9]{2}|sleep 0\.|sleep 1\\n|sleep 2", "timing tests (cancel, overlap)"),
    (r"urandom|\$\$|/proc/|ulimit|df -k|/dev/shm|ls /dev", "probes of the sandbox: output differs by design"),
    (r"secret", "needs --secret"),
    (r"FROM (parent|copies|sbx-probe):", "builds on an image the test made"),
    (r"^FROM scratch AS s0\\nFROM busybox\\nCOPY --from=s0 / /", "docker 20.10 bug: COPY --from an empty scratch "
     "stage copies whatever snapshot an earlier build left (another case's context files appear)"),
]


def bats_cases(skipped):
    import re
    out, seen = [], set()
    for f in BATS_FILES:
        path = os.path.join(TOP, "tests/integration", f)
        for m in re.finditer(r"^\s*df '([^']*)'\s*$", open(path).read(), re.M):
            text = m.group(1)
            name = "bats/%s-%s" % (f[:-5], hashlib.sha1(text.encode()).hexdigest()[:8])
            why = [w for rx, w in BATS_EXCLUDE if re.search(rx, text)]
            if text in seen:
                continue
            seen.add(text)
            if why:
                skipped.append((name, why[0]))
                continue
            out.append(Case(name, None, [], printf=text))
    return out


def prepare(case, work):
    ctx = os.path.join(work, "ctx", case.name.replace("/", "_").replace(":", "_"))
    if case.printf is not None:
        os.makedirs(ctx)
        subprocess.run(["bash", "-c", 'printf "$1" > "$2/Dockerfile"', "-", case.printf, ctx], check=True)
    else:
        shutil.copytree(case.src, ctx, symlinks=True)
    if os.path.exists(os.path.join(ctx, "args")) and case.name.startswith("own/"):
        os.unlink(os.path.join(ctx, "args"))
    # docker would pull the frontend a `# syntax=` line names (offline: fails); kiln ignores it.
    df = os.path.join(ctx, "Dockerfile")
    if os.path.isfile(df) and not os.path.islink(df):
        text = open(df).read()
        if text.startswith("# syntax="):
            open(df, "w").write(text.split("\n", 1)[1])
    for spec in case.links:  # TARGET:LINK, a symlink the corpus cannot carry
        target, link = spec.split(":", 1)
        os.symlink(target, os.path.join(ctx, link))
    flags = []
    it = iter(case.flags)
    for f in it:
        if f == "-f":
            flags += ["-f", os.path.join(ctx, next(it))]
        else:
            flags.append(f)
    return ctx, flags


# ---- images ----------------------------------------------------------------

def load_image(path):
    """(config JSON, merged file listing {path: entry}, hardlink groups)"""
    with tarfile.open(path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        fs, inode = {}, {}
        next_ino = [0]
        for layer in manifest["Layers"]:
            with tarfile.open(fileobj=outer.extractfile(layer), mode="r:*") as t:
                apply_layer(t, fs, inode, next_ino)
    groups = {}
    for p, ino in inode.items():
        if p in fs:
            groups.setdefault(ino, []).append(p)
    links = sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1)
    return config, fs, links


def norm(name):
    p = posixpath.normpath("/" + name)
    return p


def remove_tree(fs, inode, p):
    for k in [k for k in fs if k == p or k.startswith(p.rstrip("/") + "/")]:
        del fs[k]
        inode.pop(k, None)


def apply_layer(t, fs, inode, next_ino):
    members = t.getmembers()
    for m in members:  # whiteouts hide what lower layers hold
        p = norm(m.name)
        base, parent = posixpath.basename(p), posixpath.dirname(p)
        if base == ".wh..wh..opq":
            for k in [k for k in fs if k.startswith(parent.rstrip("/") + "/")]:
                del fs[k]
                inode.pop(k, None)
        elif base.startswith(".wh."):
            remove_tree(fs, inode, posixpath.join(parent, base[4:]))
    for m in members:
        p = norm(m.name)
        if posixpath.basename(p).startswith(".wh."):
            continue
        e = {"mode": "%04o" % (m.mode & 0o7777), "uid": m.uid, "gid": m.gid}
        if m.islnk():
            target = norm(m.linkname)
            if target not in fs:
                e.update(type="hardlink-to-missing", link=target)
            else:
                e = dict(fs[target])
                inode[p] = inode.setdefault(target, new_ino(next_ino))
                if p in fs and fs[p]["type"] == "dir":
                    remove_tree(fs, inode, p)
                fs[p] = e
                continue
        elif m.isfile():
            h = hashlib.sha256()
            f = t.extractfile(m)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                if m.size <= 2048:  # small files' text, to show what differs
                    TEXTS[h.hexdigest()[:16]] = chunk.decode("utf-8", "replace")
            e.update(type="file", size=m.size, sha256=h.hexdigest()[:16])
        elif m.isdir():
            e.update(type="dir")
        elif m.issym():
            e.update(type="symlink", link=m.linkname)
        elif m.ischr() or m.isblk():
            e.update(type="chr" if m.ischr() else "blk", dev="%d:%d" % (m.devmajor, m.devminor))
        elif m.isfifo():
            e.update(type="fifo")
        else:
            e.update(type="other")
        if p in fs and fs[p]["type"] == "dir" and e["type"] != "dir":
            remove_tree(fs, inode, p)
        fs[p] = e
        inode[p] = new_ino(next_ino)


TEXTS = {}  # content digest -> text of small files


def new_ino(counter):
    counter[0] += 1
    return counter[0]


def empty(v):
    return v is None or v == [] or v == {} or v == "" or v is False


def compare(k, d):
    """Differences between kiln's image k and docker's d: [(key, text)]"""
    out = []
    kc, dc = k[0].get("config") or {}, d[0].get("config") or {}
    for f in CONFIG_FIELDS:
        a, b = kc.get(f), dc.get(f)
        if f in EMPTY_IS_ABSENT and empty(a) and empty(b):
            continue
        if f == "Env":
            a, b = a or [], b or []
        if a != b:
            out.append(("config." + f, "kiln:   %s\n    docker: %s" % (json.dumps(a), json.dumps(b))))
    kh, dh = history(k[0]), history(d[0])
    if kh is not None and dh is not None and kh != dh:
        out += history_diffs(kh, dh)
    kf, df = k[1], d[1]
    for p in sorted(set(kf) | set(df)):
        a, b = kf.get(p), df.get(p)
        if a == b:
            continue
        if a is None:
            out.append(("files:" + p, "only in docker: %s" % fmt(b)))
        elif b is None:
            out.append(("files:" + p, "only in kiln: %s" % fmt(a)))
        else:
            keys = sorted(set(a) | set(b))
            diff = ", ".join("%s %s/%s" % (x, a.get(x), b.get(x)) for x in keys if a.get(x) != b.get(x))
            if a.get("sha256") in TEXTS and b.get("sha256") in TEXTS and a["sha256"] != b["sha256"]:
                diff += "".join("\n      " + l for l in difflib.unified_diff(
                    TEXTS[b["sha256"]].splitlines(), TEXTS[a["sha256"]].splitlines(), "docker", "kiln", lineterm="", n=0))
            out.append(("files:" + p, "kiln/docker: " + diff))
    if k[2] != d[2]:
        out.append(("hardlinks", "kiln:   %s\n    docker: %s" % (k[2], d[2])))
    return out


def history_diffs(kh, dh):
    """History entries aligned by instruction: keys history:only-kiln:INSTR,
    history:only-docker:INSTR, history:empty-in-kiln:INSTR, history:empty-in-docker:INSTR"""
    out = []
    sm = difflib.SequenceMatcher(None, [h[1] for h in kh], [h[1] for h in dh], autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for a, b in zip(kh[i1:i2], dh[j1:j2]):
                if a[0] != b[0]:
                    out.append(("history:empty-in-%s:%s" % ("kiln" if a[0] == "e" else "docker", a[1]),
                                "%s: kiln %s, docker %s" % (a[2], a[0], b[0])))
            continue
        for h in kh[i1:i2]:
            out.append(("history:only-kiln:" + h[1], "kiln has %s %s" % (h[0], h[2])))
        for h in dh[j1:j2]:
            out.append(("history:only-docker:" + h[1], "docker has %s %s" % (h[0], h[2])))
    seen, uniq = set(), []
    for k, t in out:  # one key once (the first instance shown)
        if k not in seen:
            seen.add(k)
            uniq.append((k, t))
    return uniq


def history(cfg):
    """[(e|L, created_by)] of an image config; None when the image had none to save"""
    if cfg.get("history") is None and cfg.get("_no_history"):
        return None
    out = []
    for h in cfg.get("history") or []:
        cb = (h.get("created_by") or "").replace("/bin/sh -c #(nop) ", "").replace(" # buildkit", "")
        word = cb.split()[0] if cb.split() and cb.split()[0].isupper() else "?"
        out.append(("e" if h.get("empty_layer") else "L", word, cb.replace("\n", " ")[:60]))
    return out


def fmt(e):
    return " ".join("%s=%s" % (x, e[x]) for x in sorted(e))


# ---- main ------------------------------------------------------------------

def load_allow():
    allow = []
    for n, line in enumerate(open(os.path.join(HERE, "allow.txt")), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            sys.exit("allow.txt:%d: want CASE KEY-GLOB REASON" % n)
        allow.append({"case": parts[0], "key": parts[1], "reason": parts[2], "line": n, "used": False})
    return allow


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    kiln, conformance = os.path.abspath(args[0]), args[1]
    only = [args[i + 1] for i, a in enumerate(args) if a == "--only"]
    QUIET[0] = "-q" in args
    debian = "--debian" in args
    cases, skipped = load_cases(conformance, debian)
    if only:
        cases = [c for c in cases if any(o in c.name for o in only)]
    allow = load_allow()
    work = tempfile.mkdtemp(prefix="kiln-diff.", dir="/var/tmp")
    dockerd = Dockerd(work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.time()
    try:
        why = dockerd.start()
        if why:
            print("differential: skipped: " + why)
            return SKIP
        kenv = dict(os.environ, KILN_ROOT=work + "/store")
        r = run([os.path.join(TOP, "scripts/base-images"), "--kiln", kiln], env=kenv)
        if r.returncode != 0:
            print(r.stdout)
            return 1
        run([kiln, "tag", "busybox:latest", "golang:latest"], env=kenv)
        base = work + "/base.tar"
        images = ["busybox:latest", "alpine:latest", "golang:latest"]
        if debian:
            r = run([os.path.join(TOP, "scripts/base-images"), "--kiln", kiln, "debian"], env=kenv)
            if r.returncode != 0:
                print(r.stdout)
                return 1
            images.append("debian-build:bookworm")
        r = run([kiln, "save", "-o", base] + images, env=kenv)
        r2 = run([DOCKER, "load", "-q", "-i", base], env=dockerd.env)
        if r.returncode != 0 or r2.returncode != 0:
            print(r.stdout + r2.stdout)
            return 1
        os.unlink(base)
        failures = 0
        dockerd_alive[0] = lambda: dockerd.proc.poll() is None
        for c in cases:
            failures += run_case(c, kiln, kenv, dockerd.env, work, allow)
        for name, why in skipped:
            say("skipped   %s: %s" % (name, why))
        for a in allow:
            # Stale: no difference matched it although a case it names ran (a
            # partial run, --only, cannot tell for entries that name many).
            if not a["used"] and not only and any(fnmatch.fnmatchcase(c.name, a["case"]) for c in cases):
                print("STALE     allow.txt:%d %s %s: no longer differs" % (a["line"], a["case"], a["key"]))
                failures += 1
        print("differential: %d cases (%d same, %d allowed differences, %d different), %d skipped, %d failures, "
              "%.0f s (docker %s)" % (
            len(cases), COUNTS["same"], COUNTS["allowed"], COUNTS["different"], len(skipped), failures, time.time() - t0,
            run([DOCKER, "version", "--format", "{{.Server.Version}}"], env=dockerd.env).stdout.strip()))
        return 1 if failures else 0
    finally:
        dockerd.stop()
        shutil.rmtree(work, ignore_errors=True)


dockerd_alive = [lambda: True]
QUIET = [False]
COUNTS = {"same": 0, "allowed": 0, "different": 0}


def say(line):
    if not QUIET[0]:
        print(line)


def run_case(c, kiln, kenv, denv, work, allow):
    ctx, flags = prepare(c, work)
    tag = c.tag()
    try:
        kr = run([kiln, "build", "--progress=plain", "-t", tag] + flags + [ctx], env=kenv, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        kr = subprocess.CompletedProcess([], 124, "kiln build timed out after %d s" % BUILD_TIMEOUT)
    try:
        dr = run([DOCKER, "build", "--network", "host", "-t", tag] + flags + [ctx], env=denv, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        dr = subprocess.CompletedProcess([], 124, "docker build timed out")
    diffs = []
    if (kr.returncode == 0) != (dr.returncode == 0):
        diffs.append(("outcome", "kiln exit %d, docker exit %d\n    kiln:   %s\n    docker: %s" % (
            kr.returncode, dr.returncode, tail(kr.stdout), tail(dr.stdout))))
    elif kr.returncode == 0:
        kt, dt = work + "/k.tar", work + "/d.tar"
        r1 = run([kiln, "save", "-o", kt, tag], env=kenv)
        r2 = run([DOCKER, "save", "-o", dt, tag], env=denv)
        if r1.returncode == 0 and "empty export" in r2.stdout:
            # docker cannot save an image without layers: compare its config alone.
            r2 = run([DOCKER, "image", "inspect", "--format", "{{json .Config}}", tag], env=denv)
            if r2.returncode == 0:
                k = load_image(kt)
                k[0]["_no_history"] = True
                diffs = compare(k, ({"config": json.loads(r2.stdout), "_no_history": True}, {}, []))
        elif r1.returncode or r2.returncode:
            diffs.append(("save", r1.stdout + r2.stdout))
        else:
            diffs = compare(load_image(kt), load_image(dt))
        for f in (kt, dt):
            if os.path.exists(f):
                os.unlink(f)
    if dr.returncode != 0 and not dockerd_alive[0]():
        raise SystemExit("differential: dockerd died during %s; its log ends:\n%s" % (c.name, open(work + "/dockerd.log").read()[-1500:]))
    if not diffs:
        COUNTS["same"] += 1
        say("same      %s%s" % (c.name, "" if kr.returncode == 0 else " (both fail)"))
        return 0
    bad = 0
    COUNTS["allowed" if all(any(fnmatch.fnmatchcase(c.name, a["case"]) and fnmatch.fnmatchcase(k, a["key"])
                                for a in allow) for k, _ in diffs) else "different"] += 1
    for key, text in diffs:
        hit = [a for a in allow if fnmatch.fnmatchcase(c.name, a["case"]) and fnmatch.fnmatchcase(key, a["key"])]
        for a in hit:
            a["used"] = True
        if hit:
            say("allowed   %s %s: %s" % (c.name, key, hit[0]["reason"]))
        else:
            print("DIFFERENT %s %s\n    %s" % (c.name, key, text))
            bad += 1
    return bad


def tail(s):
    lines = [l for l in s.strip().splitlines() if l.strip()]
    return " | ".join(lines[-2:])[-300:]


if __name__ == "__main__":
    sys.exit(main())
