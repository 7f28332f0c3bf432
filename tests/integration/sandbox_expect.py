#!/usr/bin/python3
"""Compares what tests/integration/probe.c saw inside a sandbox with docker's
defaults, computed here from the data in ../shared/conformance/docker-defaults/
(capabilities.txt, seccomp-default.json, devices.tsv, masked-paths.txt,
readonly-paths.txt), never from values written to match kiln.

  sandbox_expect.py DEFAULTS_DIR --user root|nonroot [--require GROUP,...] OUTPUT_FILE

OUTPUT_FILE holds the probe's "PROBE key=value" lines anywhere in its lines (a
build log is fine). Prints one line per difference and exits 1 if there is one.
  sandbox_expect.py DEFAULTS_DIR --masked-args | --readonly-args | --device-args | --node-args | --sysctl-args
print the probe's arguments for those lists (one word a line).
  sandbox_expect.py DEFAULTS_DIR --docker-spec CONFIG_JSON UID ARG...
rewrites a `runc spec` config.json into docker's defaults (capabilities, the
seccomp profile as moby filters it, masked and read-only paths, device rules, no
no_new_privs) running ARG... as UID: the oracle's own check, that a sandbox
configured as docker is configured meets every expectation here.
"""
import errno
import json
import os
import platform
import re
import sys

# Linux capability numbers (include/uapi/linux/capability.h): kernel ABI, not docker data.
CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
    "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}

SIGCHLD = 17
CLONE_NEWUSER = 0x10000000
U64 = (1 << 64) - 1

# What probe.c calls (keep in step with its syscalls()): probe key -> (syscall,
# arguments as the kernel sees them, results the kernel gives those arguments
# when the filter lets the call through). A call the filter refuses gives the
# rule's errno instead; the arguments were chosen so that the two differ.
PROBES = {
    "clone_plain": ("clone", [SIGCHLD, 0, 0, 0, 0], {"OK"}),
    "clone_newuser": ("clone", [CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0], {"OK"}),
    "clone3": ("clone3", [0, 0], {"EINVAL"}),
    "unshare_0": ("unshare", [0], {"OK"}),
    "unshare_newuser": ("unshare", [CLONE_NEWUSER], {"OK"}),
    "setns": ("setns", [U64, 0], {"EBADF"}),
    "socket_inet": ("socket", [2, 2, 0], {"OK"}),
    "socket_alg": ("socket", [38, 5, 0], {"OK", "EAFNOSUPPORT"}),
    "socket_vsock": ("socket", [40, 1, 0], {"OK", "EAFNOSUPPORT"}),
    "keyctl": ("keyctl", [0, U64, 0], {"OK", "ENOKEY"}),
    "add_key": ("add_key", [1, 1, 0, 0, U64], {"ENODEV"}),
    "request_key": ("request_key", [1, 1, 0, 0], {"ENOKEY", "ENODEV"}),
    "personality_query": ("personality", [0xFFFFFFFF], {"OK"}),
    "personality_1234": ("personality", [0x1234], {"OK"}),
    "perf_event_open": ("perf_event_open", [0, 0, U64, U64, 0], {"EFAULT", "EACCES"}),
    "io_uring_setup": ("io_uring_setup", [0, 0], {"EFAULT", "EINVAL"}),
    "chroot": ("chroot", [1], {"ENOENT"}),
    "name_to_handle_at": ("name_to_handle_at", [(-100) & U64, 1, 0, 0, 0], {"EFAULT", "EOPNOTSUPP"}),
    "open_tree": ("open_tree", [(-100) & U64, 1, 0], {"ENOENT"}),
    "kcmp": ("kcmp", [1, 1, 1, 0, 0], {"OK"}),
    "process_vm_readv": ("process_vm_readv", [1, 0, 0, 0, 0, 0], {"OK"}),
    "uname": ("uname", [0], {"OK"}),
}

# The character and block devices the probe makes and opens: the attacks
# (kvm, loop-control, fuse, btrfs-control, tty1, a disk) and docker's allowed nodes.
PROBED_DEVICES = [
    ("kvm", "c", 10, 232), ("loop-control", "c", 10, 237), ("fuse", "c", 10, 229),
    ("btrfs-control", "c", 10, 234), ("tty1", "c", 4, 1), ("sda", "b", 8, 0), ("null", "c", 1, 3),
    ("zero", "c", 1, 5), ("full", "c", 1, 7), ("random", "c", 1, 8), ("urandom", "c", 1, 9),
    ("tty", "c", 5, 0),
]
# /proc/sys files the probe writes back unchanged.
SYSCTLS = ["/proc/sys/vm/overcommit_ratio"]
TMPFS_MAGIC = 0x01021994


def read_lines(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def kernel_version():
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(m.group(1)), int(m.group(2)))


def parse_kernel(s):
    a, b = s.split(".")[:2]
    return (int(a), int(b))


def masked_paths(conf):
    paths = read_lines(os.path.join(conf, "masked-paths.txt"))
    # The daemon adds each possible CPU's thermal_throttle dir that exists on the host.
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            spec = f.read().strip()
        for part in spec.split(","):
            lo, _, hi = part.partition("-")
            for n in range(int(lo), int(hi or lo) + 1):
                p = "/sys/devices/system/cpu/cpu%d/thermal_throttle" % n
                if os.path.exists(p):
                    paths.append(p)
    except OSError:
        pass
    return paths


def readonly_paths(conf):
    return read_lines(os.path.join(conf, "readonly-paths.txt"))


def caps_mask(conf):
    mask = 0
    for c in read_lines(os.path.join(conf, "capabilities.txt")):
        mask |= 1 << CAP_NUMBERS[c]
    return mask


# ---------- seccomp: docker's profile as moby/profiles turns it into a filter ----------

def seccomp_rules(profile, caps, arch="amd64", kernel=None):
    kernel = kernel or kernel_version()
    kept = []
    for r in profile["syscalls"]:
        inc = r.get("includes") or {}
        exc = r.get("excludes") or {}
        if arch in (exc.get("arches") or []):
            continue
        if any(c in caps for c in exc.get("caps") or []):
            continue
        if exc.get("minKernel") and kernel >= parse_kernel(exc["minKernel"]):
            continue
        if inc.get("arches") and arch not in inc["arches"]:
            continue
        if not all(c in caps for c in inc.get("caps") or []):
            continue
        if inc.get("minKernel") and kernel < parse_kernel(inc["minKernel"]):
            continue
        kept.append(r)
    return kept


def arg_matches(cond, args):
    v = args[cond["index"]] if cond["index"] < len(args) else 0
    a, b = cond["value"] & U64, cond.get("valueTwo", 0) & U64
    op = cond["op"]
    return {
        "SCMP_CMP_EQ": v == a, "SCMP_CMP_NE": v != a, "SCMP_CMP_LT": v < a, "SCMP_CMP_LE": v <= a,
        "SCMP_CMP_GT": v > a, "SCMP_CMP_GE": v >= a, "SCMP_CMP_MASKED_EQ": (v & a) == b,
    }[op]


def seccomp_verdict(profile, rules, name, args):
    """'ALLOW' or the errno name the filter returns, and the rule that decided."""
    matched = [r for r in rules if name in r["names"] and all(arg_matches(c, args) for c in r.get("args") or [])]
    if not matched:
        return errno.errorcode[profile.get("defaultErrnoRet", errno.EPERM)], "no rule lets %s through with these arguments" % name
    verdicts = set()
    for r in matched:
        if r["action"] == "SCMP_ACT_ALLOW":
            verdicts.add("ALLOW")
        elif r["action"] == "SCMP_ACT_ERRNO":
            verdicts.add(errno.errorcode[r.get("errnoRet", errno.EPERM)])
        else:
            verdicts.add(r["action"])
    if len(verdicts) != 1:
        raise SystemExit("seccomp profile: %s %s matches rules with different actions %s" % (name, args, verdicts))
    r = matched[0]
    why = "rule %s%s" % (r["names"][:3], " args %s" % r["args"] if r.get("args") else "")
    return verdicts.pop(), why


# ---------- devices: the cgroup rules, the last matching one deciding each access ----------

def device_rules(conf):
    rows = []
    with open(os.path.join(conf, "devices.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    rules = sorted((r for r in rows if r["kind"] == "cgroup-rule"), key=lambda r: int(r["order"]))
    nodes = [r for r in rows if r["kind"] == "node" and r["type"] in ("c", "b")]
    return rules, nodes


def device_allowed(rules, typ, major, minor, access):
    for bit in access:
        state = False
        for r in rules:
            if bit not in r["access"]:
                continue
            if r["type"] not in ("a", typ):
                continue
            if r["major"] != "*" and int(r["major"]) != major:
                continue
            if r["minor"] != "*" and int(r["minor"]) != minor:
                continue
            state = r["allow"] == "true"
        if not state:
            return False
    return True


# ---------- the comparison ----------

def expectations(conf, user, got):
    """key -> (set of accepted values, why). Only for the keys the probe printed,
    plus the ones its groups must print."""
    exp = {}
    mask = caps_mask(conf)
    hexmask = "%016x" % mask
    zero = "%016x" % 0
    root = user == "root"
    src = "capabilities.txt"
    exp["status.CapBnd"] = ({hexmask}, src + ": the bounding set")
    exp["status.CapPrm"] = ({hexmask if root else zero}, src + (" (root)" if root else ": none for a non-root user"))
    exp["status.CapEff"] = ({hexmask if root else zero}, src + (" (root)" if root else ": none for a non-root user"))
    exp["status.CapInh"] = ({zero}, "docker sets no inheritable capabilities")
    exp["status.CapAmb"] = ({zero}, "docker sets no ambient capabilities")
    exp["status.Seccomp"] = ({"2"}, "docker's default seccomp profile is a filter")
    exp["status.NoNewPrivs"] = ({"0"}, "docker does not set no_new_privs")

    with open(os.path.join(conf, "seccomp-default.json")) as f:
        profile = json.load(f)
    capnames = set(read_lines(os.path.join(conf, "capabilities.txt")))
    rules = seccomp_rules(profile, capnames)
    for key, (name, args, ok) in PROBES.items():
        verdict, why = seccomp_verdict(profile, rules, name, args)
        if verdict == "ALLOW":
            exp["sys." + key] = (ok, "seccomp-default.json allows %s (%s)" % (name, why))
        else:
            exp["sys." + key] = ({verdict}, "seccomp-default.json: %s gives %s (%s)" % (name, verdict, why))

    exp["fds"] = ({"0,1,2"}, "a container starts with stdin, stdout and stderr only")

    drules, dnodes = device_rules(conf)
    for name, typ, ma, mi in PROBED_DEVICES:
        k = "%s.%d.%d" % (typ, ma, mi)
        m = device_allowed(drules, typ, ma, mi, "m")
        exp["mknod." + k] = ({"OK"} if m else {"EPERM"}, "devices.tsv: mknod of %s %s" % (name, "allowed" if m else "denied"))
        acc = "r" if typ == "b" else "rw"
        o = device_allowed(drules, typ, ma, mi, acc)
        # Allowed by the cgroup, a node may still refuse: /dev/tty without a
        # controlling terminal (ENXIO), a driver the host lacks (ENXIO/ENODEV).
        exp["open." + k] = ({"OK", "ENXIO", "ENODEV"} if o else {"EPERM"},
                            "devices.tsv: %s access to %s %s" % (acc, name, "allowed" if o else "denied"))
    for n in dnodes:
        exp["node." + n["path"]] = ({"%s:%s:%s" % (n["type"], n["major"], n["minor"])}, "devices.tsv: node %s" % n["path"])
        ok = device_allowed(drules, n["type"], int(n["major"]), int(n["minor"]), "rw")
        exp["nodeopen." + n["path"]] = ({"OK", "ENXIO"} if ok else {"EPERM"}, "devices.tsv: rw access to %s" % n["path"])

    ro = readonly_paths(conf)
    for p in masked_paths(conf):
        why = "masked-paths.txt: %s" % p
        v = got.get("path." + p)
        if v is None or v == "ENOENT":
            continue  # absent in the container: runc masks only what exists
        if v.startswith("dir"):
            exp["path." + p] = ({"dir:0"}, why + " is an empty tmpfs")
            exp["ro." + p] = ({"1"}, why + " is a read-only tmpfs")
            exp["fstype." + p] = ({"0x%x" % TMPFS_MAGIC}, why + " is a tmpfs")
        else:
            exp["path." + p] = ({"bytes:0"}, why + " reads as /dev/null")
    for p in ro:
        v = got.get("path." + p)
        if v is None or v == "ENOENT":
            continue
        exp["ro." + p] = ({"1"}, "readonly-paths.txt: %s" % p)
    for p in SYSCTLS:
        under = [r for r in ro if p == r or p.startswith(r + "/")]
        if under:
            exp["sysctl." + p] = ({"EROFS"}, "readonly-paths.txt: %s is read-only" % under[0])
    return exp


def docker_spec(conf, path, uid, args):
    with open(path) as f:
        c = json.load(f)
    caps = read_lines(os.path.join(conf, "capabilities.txt"))
    p = c["process"]
    p["terminal"] = False
    p["args"] = args
    p["user"] = {"uid": uid, "gid": uid}
    p["noNewPrivileges"] = False
    p["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    with open(os.path.join(conf, "seccomp-default.json")) as f:
        profile = json.load(f)
    arch = [a for a in profile["archMap"] if a["architecture"] == "SCMP_ARCH_X86_64"][0]
    seccomp = {"defaultAction": profile["defaultAction"], "defaultErrnoRet": profile.get("defaultErrnoRet", 1),
               "architectures": [arch["architecture"]] + (arch.get("subArchitectures") or []), "syscalls": []}
    for r in seccomp_rules(profile, set(caps)):
        seccomp["syscalls"].append({k: r[k] for k in ("names", "action", "args", "errnoRet") if r.get(k) is not None})
    lx = c["linux"]
    lx["seccomp"] = seccomp
    lx["maskedPaths"] = masked_paths(conf)
    lx["readonlyPaths"] = readonly_paths(conf)
    devices = []
    for r in device_rules(conf)[0]:
        if r["layer"] != "docker":
            continue  # runc appends its own rows itself
        d = {"allow": r["allow"] == "true", "access": r["access"]}
        if r["type"] != "a":
            d["type"] = r["type"]
        if r["major"] != "*":
            d["major"] = int(r["major"])
        if r["minor"] != "*":
            d["minor"] = int(r["minor"])
        devices.append(d)
    lx.setdefault("resources", {})["devices"] = devices
    c["root"]["readonly"] = False
    with open(path, "w") as f:
        json.dump(c, f, indent=1)


GROUP_KEYS = {
    "status": ["status.CapBnd", "status.CapPrm", "status.CapEff", "status.CapInh", "status.CapAmb",
               "status.Seccomp", "status.NoNewPrivs"],
    "syscalls": ["sys." + k for k in PROBES],
    "fds": ["fds"],
    "devices": ["mknod.%s.%d.%d" % (t, a, b) for _, t, a, b in PROBED_DEVICES],
    "sysctl": ["sysctl." + p for p in SYSCTLS],
}


def main():
    a = sys.argv[1:]
    conf = a.pop(0)
    if a and a[0] == "--masked-args":
        print("\n".join("m:" + p for p in masked_paths(conf)))
        return 0
    if a and a[0] == "--readonly-args":
        print("\n".join("r:" + p for p in readonly_paths(conf)))
        return 0
    if a and a[0] == "--device-args":
        print("\n".join("%s:%s:%d:%d" % d for d in PROBED_DEVICES))
        return 0
    if a and a[0] == "--node-args":
        print("\n".join(n["path"] for n in device_rules(conf)[1]))
        return 0
    if a and a[0] == "--sysctl-args":
        print("\n".join(SYSCTLS))
        return 0
    if a and a[0] == "--docker-spec":
        docker_spec(conf, a[1], int(a[2]), a[3:])
        return 0
    user, require = "root", []
    while a and a[0].startswith("--"):
        opt = a.pop(0)
        if opt == "--user":
            user = a.pop(0)
        elif opt == "--require":
            require = a.pop(0).split(",")
    got = {}
    with open(a[0], errors="replace") as f:
        for line in f:
            m = re.search(r"PROBE ([^=\s]+)=(.*)$", line.rstrip("\n"))
            if m:
                got[m.group(1)] = m.group(2).strip()
    bad = []
    if got.get("end") != "1":
        bad.append("the probe did not finish (no 'PROBE end=1' line)")
    exp = expectations(conf, user, got)
    for g in require:
        for k in GROUP_KEYS.get(g, []):
            if k not in got:
                bad.append("%s: not printed by the probe (group %s)" % (k, g))
    for k in sorted(got):
        if k in exp and got[k] not in exp[k][0]:
            bad.append("%s: got %s, docker gives %s -- %s" % (k, got[k], " or ".join(sorted(exp[k][0])), exp[k][1]))
    for k in sorted(got):
        if k.startswith("fd.") and k != "fd.0" and k != "fd.1" and k != "fd.2":
            bad.append("%s: a descriptor the container did not open: %s" % (k, got[k]))
    for b in bad:
        print("DIFF " + b)
    print("compared %d probe values with docker's defaults: %d differ" % (len([k for k in got if k in exp]), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
