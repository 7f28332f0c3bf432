#!/usr/bin/env python3
"""Compares what kiln prints with what docker 20.10 printed (../shared/conformance/docker-shapes).

    docker_shapes.py KILN CONFORMANCE_DIR ALLOW_LIST

Makes a store of its own (the busybox base image, scripts/base-images), the corpus's
containers as far as kiln has their features (shp-exit: `sh -c 'echo out; echo err >&2;
exit 3'` in the foreground; shp-run: shp-web's detached httpd and health check, with its
label and restart policy, on the user network shp-net with an alias, shp-web's volume shp-vol
and its two published ports, on free host ports that stand in for docker's 18300 and 18301,
waited for until healthy), and compares:

  ps       the table's header and columns (ps-table.txt, ps-a-notrunc.txt), and
           `ps -a --format '{{json .}}'` (ps-json-lines.txt): the same keys, string values,
           the shapes of ids, sizes and times;
  inspect  `inspect shp-exit` against container-exited.json and `inspect shp-run` against
           container-running-healthy.json: the same keys at every level, in docker's order,
           the same JSON types (ids, times, paths and addresses are not compared);
           `{{json .State.Health}}` (health-json.txt) likewise;
  network  `network inspect shp-net` (network-inspect.json, its container entry too), the
           `network ls` header (network-ls.txt), `port shp-run` (port.txt);
  logs     the json-file log's lines (logs-json-file.log) and `logs -t` (logs-t.txt);
  errors   the messages and exit codes of errors-and-formats.txt that kiln has commands for
           ("Error response from daemon: " is kiln's "Error: ", "docker" is "kiln").

Every difference has an id ("inspect:missing:State.Health", "ps-json:value:Networks", ...).
One not in ALLOW_LIST (lines "ID<TAB>reason") fails the run; an allow-list entry that no
longer differs is reported, so the list only shrinks."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

KILN, CONF, ALLOW = sys.argv[1], sys.argv[2], sys.argv[3]
SHAPES = os.path.join(CONF, "docker-shapes")
diffs = {}  # id -> detail


def differ(ident, detail):
    diffs.setdefault(ident, detail)


def kiln(*args, check=True, env=None):
    p = subprocess.run([KILN, *args], capture_output=True, text=True, env=env or ENV, timeout=120)
    if check and p.returncode != 0:
        sys.exit(f"docker_shapes: kiln {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def read(name):
    with open(os.path.join(SHAPES, name)) as f:
        return f.read()


# ---------- ps


def columns(header):
    """The column titles of a tabwriter header and where each starts."""
    return [(m.start(), m.group(0)) for m in re.finditer(r"\S+(?: \S+)*", header)]


def cells(line, cols):
    out = []
    for i, (start, _) in enumerate(cols):
        end = cols[i + 1][0] if i + 1 < len(cols) else len(line)
        out.append(line[start:end].strip())
    return out


CELL_SHAPES = {
    "CONTAINER ID": r"[0-9a-f]{12}|[0-9a-f]{64}",
    "COMMAND": r'".*"',
    "CREATED": r"(Less than a second|About a minute|\d+ \w+) ago",
    "STATUS": r"Up .*|Exited \(\d+\) .* ago|Created",
}


def compare_ps_table(name, args):
    want = read(name).splitlines()
    got = kiln("ps", *args).stdout.splitlines()
    wcols, gcols = columns(want[0]), columns(got[0])
    if [t for _, t in wcols] != [t for _, t in gcols]:
        differ(f"ps-table:{name}:header", f"kiln {[t for _, t in gcols]}, docker {[t for _, t in wcols]}")
    # docker's tabwriter: a cell is its column's widest plus 3, at least 10
    for line in got[1:]:
        row = cells(line, gcols)
        for (_, title), cell in zip(gcols, row):
            shape = CELL_SHAPES.get(title)
            if shape and not re.fullmatch(shape, cell):
                differ(f"ps-table:{name}:cell:{title}", f"{cell!r} is not shaped as docker's {shape}")
    for i in range(1, len(gcols)):
        start = gcols[i][0]
        widest = max(len(cells(l, gcols)[i - 1]) for l in got)
        if start != gcols[i - 1][0] + max(widest + 3, 10):
            differ(f"ps-table:{name}:layout", "columns are not aligned as docker's tabwriter (min 10, padding 3)")


SIZE = r"\d+(\.\d+)?[kMGT]?B \(virtual \d+(\.\d+)?[kMGT]?B\)"
JSON_VALUE_SHAPES = {
    "ID": r"[0-9a-f]{12}",
    "CreatedAt": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+",
    "Size": SIZE,
    "LocalVolumes": r"\d+",
    "Command": r'".*"',
}


def compare_ps_json():
    want = [json.loads(l) for l in read("ps-json-lines.txt").splitlines() if l.strip()]
    got = [json.loads(l) for l in kiln("ps", "-a", "--format", "{{json .}}").stdout.splitlines()]
    wkeys = set(want[0])
    for g in got:
        for k in sorted(wkeys - set(g)):
            differ(f"ps-json:missing:{k}", "docker has it, kiln not")
        for k in sorted(set(g) - wkeys):
            differ(f"ps-json:extra:{k}", "kiln has it, docker 20.10 not")
        for k, v in g.items():
            if k in wkeys and type(v) is not type(want[0][k]):
                differ(f"ps-json:type:{k}", f"kiln {type(v).__name__}, docker {type(want[0][k]).__name__}")
            shape = JSON_VALUE_SHAPES.get(k)
            if shape and isinstance(v, str) and not re.fullmatch(shape, v):
                differ(f"ps-json:value:{k}", f"{v!r} is not shaped as docker's {shape}")
    # what the exited container shows, field by field, where it does not depend on the run
    exited = next(w for w in want if w["Names"] == "shp-exit")
    mine = next(g for g in got if g["Names"] == "shp-exit")
    for k in ("Command", "State", "Labels", "Mounts", "LocalVolumes", "Ports", "Networks"):
        if mine.get(k) != exited[k]:
            differ(f"ps-json:value:{k}", f"kiln {mine.get(k)!r}, docker {exited[k]!r}")
    if not re.fullmatch(r"Exited \(3\) .* ago", mine.get("Status", "")):
        differ("ps-json:value:Status", mine.get("Status"))


# ---------- inspect


def compare_tree(path, w, g, prefix):
    if type(w) is not type(g) and not (w is None or g is None):
        differ(f"{prefix}:type:{path}", f"kiln {type(g).__name__}, docker {type(w).__name__}")
        return
    if w is None and g is not None or g is None and w is not None:
        differ(f"{prefix}:null:{path}", f"kiln {json.dumps(g)[:60]}, docker {json.dumps(w)[:60]}")
        return
    if isinstance(w, dict):
        for k in w:
            if k not in g:
                differ(f"{prefix}:missing:{path}{'.' if path else ''}{k}", "docker has it, kiln not")
            else:
                compare_tree(f"{path}{'.' if path else ''}{k}", w[k], g[k], prefix)
        for k in g:
            if k not in w:
                differ(f"{prefix}:extra:{path}{'.' if path else ''}{k}", "kiln has it, docker not")
        # Go writes a struct's fields in declaration order and a map's keys sorted:
        # the keys both have must come in docker's order ({{json .X}} prints them so).
        wk, gk = [k for k in w if k in g], [k for k in g if k in w]
        if wk != gk:
            differ(f"{prefix}:order:{path}", f"kiln {gk}, docker {wk}")


def compare_network(run_id):
    want = json.loads(read("container-running-healthy.json"))[0]["NetworkSettings"]
    got = json.loads(kiln("inspect", "shp-run").stdout)[0]["NetworkSettings"]
    compare_tree("", want, got, "inspect-running:NetworkSettings")
    mac = got.get("Networks", {}).get("shp-net", {}).get("MacAddress", "")
    if not re.fullmatch(r"02:42(:[0-9a-f]{2}){4}", mac):
        differ("inspect-running:value:MacAddress", f"{mac!r} is not docker's 02:42 + the address")
    want = json.loads(read("network-inspect.json"))[0]
    got = json.loads(kiln("network", "inspect", "shp-net").stdout)[0]
    # the one container's entry, compared by its shape (the key is an id)
    wc, gc = list(want["Containers"].values()), list(got.get("Containers", {}).values())
    want["Containers"], got["Containers"] = {}, {}
    compare_tree("", want, got, "network-inspect")
    if len(gc) != 1 or set(gc[0]) != set(wc[0]):
        differ("network-inspect:Containers", f"kiln {gc!r}, docker {wc!r}")
    elif not re.fullmatch(r"\d+\.\d+\.\d+\.\d+/\d+", gc[0]["IPv4Address"]) or gc[0]["Name"] != "shp-run":
        differ("network-inspect:value:Containers", f"kiln {gc!r}")
    if kiln("network", "ls").stdout.splitlines()[0] != read("network-ls.txt").splitlines()[0]:
        differ("network-ls:header", kiln("network", "ls").stdout.splitlines()[0])
    want = sorted(l for l in read("port.txt").replace("18300", PORTS[0]).replace("18301", PORTS[1]).splitlines())
    got = sorted(kiln("port", "shp-run").stdout.splitlines())
    for l in sorted(set(want) - set(got)):
        differ(f"port:missing:{l.split(' -> ')[0]} -> {l.split(' -> ')[1].rsplit(':', 1)[0]}", "docker prints it, kiln not")
    for l in sorted(set(got) - set(want)):
        differ(f"port:extra:{l}", "kiln prints it, docker not")


def compare_inspect():
    want = json.loads(read("container-running-healthy.json"))[0]
    got = json.loads(kiln("inspect", "shp-run").stdout)[0]
    compare_tree("", want, got, "inspect-running")
    if got["State"].get("Health", {}).get("Status") != "healthy":
        differ("inspect-running:value:State.Health.Status", f"kiln {got['State'].get('Health')!r}, docker healthy")
    want = json.loads(read("health-json.txt"))
    got = json.loads(kiln("inspect", "--format", "{{json .State.Health}}", "shp-run").stdout)
    compare_tree("", want, got, "health-json")
    want = json.loads(read("container-exited.json"))[0]
    got = json.loads(kiln("inspect", "shp-exit").stdout)[0]
    compare_tree("", want, got, "inspect")
    for k in ("Path", "Args"):
        if got.get(k) != want[k]:
            differ(f"inspect:value:{k}", f"kiln {got.get(k)!r}, docker {want[k]!r}")
    for k in ("Status", "ExitCode", "Running", "Error"):
        if got["State"].get(k) != want["State"][k]:
            differ(f"inspect:value:State.{k}", f"kiln {got['State'].get(k)!r}, docker {want['State'][k]!r}")
    nano = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z"
    for k in ("Created",):
        if not re.fullmatch(nano, got.get(k, "")):
            differ(f"inspect:value:{k}", f"{got.get(k)!r} is not RFC 3339 with nanoseconds")
    for k in ("StartedAt", "FinishedAt"):
        if not re.fullmatch(nano, got["State"].get(k, "")):
            differ(f"inspect:value:State.{k}", f"{got['State'].get(k)!r} is not RFC 3339 with nanoseconds")


# ---------- logs

LOG_LINE = r'\{"log":".*\\n","stream":"std(out|err)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z"\}'


def compare_logs(root, ident):
    for l in read("logs-json-file.log").splitlines():
        assert re.fullmatch(LOG_LINE, l), f"the corpus's log line {l!r} is not as this script expects"
    path = os.path.join(root, "containers", ident, f"{ident}-json.log")
    with open(path) as f:
        lines = f.read().splitlines()
    if sorted(json.loads(l)["log"] for l in lines) != ["err\n", "out\n"]:
        differ("logs:json-file:content", repr(lines))
    for l in lines:
        if not re.fullmatch(LOG_LINE, l):
            differ("logs:json-file:line", f"{l!r} is not shaped as docker's json-file line")
    t = kiln("logs", "-t", "shp-exit")
    got = sorted((t.stdout + t.stderr).splitlines(), key=lambda l: l.split(" ", 1)[1])
    want = sorted(read("logs-t.txt").splitlines(), key=lambda l: l.split(" ", 1)[1])
    for g, w in zip(got, want):
        shape = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z " + re.escape(w.split(" ", 1)[1])
        if not re.fullmatch(shape, g):
            differ("logs:t:line", f"{g!r} vs docker's {w!r}")
    if len(got) != len(want):
        differ("logs:t:count", f"kiln {len(got)} lines, docker {len(want)}")
    # the order of stdout and stderr lines is a race in both: --tail 1 is the log's last line
    last = json.loads(lines[-1])
    t = kiln("logs", "--tail", "1", "shp-exit")
    if (t.stdout if last["stream"] == "stdout" else t.stderr) != last["log"]:
        differ("logs:tail", f"kiln printed {t.stdout!r} {t.stderr!r}, the log ends with {last}")


# ---------- errors


def corpus_errors():
    """(command, output, exit code) of each case of errors-and-formats.txt."""
    text = read("errors-and-formats.txt")
    cases = []
    for block in re.split(r"\n(?=\$ )", text.strip()):
        lines = block.splitlines()
        cmd = lines[0][2:]
        code = int(re.fullmatch(r"\[exit (\d+)\]", lines[-1]).group(1))
        cases.append((cmd, "\n".join(lines[1:-1]).strip(), code))
    return cases


def normalise(text, ids):
    """The message without who says it: docker's "docker: Error response from daemon: " and
    "Error response from daemon: ", kiln's "kiln: " and "Error: " (the prefix is each
    program's own; the message and the exit code are what is compared), and without the
    pointer to help after it: docker's "Run 'docker run --help'" after a failed run, the
    "Usage:  docker run ..." line docker 20.10 prints after a flag it refuses, where kiln
    (as the current docker CLI) says "See 'kiln run --help'."."""
    text = re.sub(r"\n*Run 'docker [a-z]+ --help' for more information$", "", text)
    text = re.sub(r"\n+Usage:  docker [a-z]+ \[OPTIONS\][^\n]*$", "", text)
    text = re.sub(r"\.?\nSee '(docker|kiln) [a-z]+ --help'\.$", "", text)
    text = re.sub(r"(?m)^(docker: |kiln: )?(Error response from daemon: |Error: )?", "", text)
    text = text.replace("docker", "kiln")
    # the name docker or kiln made up for a container run without --name
    text = re.sub(r"on endpoint [a-z0-9_.-]+ \(", "on endpoint <NAME> (", text)
    for i in ids:
        text = text.replace(i, "<ID>")
    return re.sub(r"\b[0-9a-f]{64}\b", "<ID>", text)


# docker's command → kiln's, for the cases kiln has the features of (by the corpus's command)
ERROR_CASES = {
    "docker run -d --name shp-web localhost/busybox:latest true": ["run", "-d", "--name", "shp-run", "busybox", "true"],
    "docker stop shp-nosuch": ["stop", "shp-nosuch"],
    "docker rm shp-web": ["rm", "shp-run"],
    "docker start shp-web": ["start", "shp-run"],
    "docker run --rm localhost/busybox:latest /nosuch": ["run", "--rm", "busybox", "/nosuch"],
    "docker run --rm localhost/busybox:latest /etc/passwd": ["run", "--rm", "busybox", "/etc/passwd"],
    "docker run --rm localhost/busybox:latest sh -c exit 7": ["run", "--rm", "busybox", "sh", "-c", "exit 7"],
    "docker wait shp-exit": ["wait", "shp-exit"],
    "docker run --rm --restart always localhost/busybox:latest true": ["run", "--rm", "--restart", "always", "busybox", "true"],
    "docker ps -a --filter status=exited --filter name=shp --format {{.Names}} {{.Status}}":
        ["ps", "-a", "--filter", "status=exited", "--filter", "name=shp", "--format", "{{.Names}} {{.Status}}"],
    "docker run -d -p 127.0.0.1:18300:80 localhost/busybox:latest true":
        ["run", "-d", "-p", "127.0.0.1:{P1}:80", "busybox", "true"],
    "docker network rm shp-net": ["network", "rm", "shp-net"],
    "docker exec shp-exit true": ["exec", "shp-exit", "true"],
    "docker volume rm shp-vol": ["volume", "rm", "shp-vol"],
    "docker run --rm -v shp-vol:/data localhost/busybox:latest ls -la /data":
        ["run", "--rm", "-v", "shp-vol:/data", "busybox", "ls", "-la", "/data"],
    "docker run --rm --health-interval 1x localhost/busybox:latest true":
        ["run", "--rm", "--health-interval", "1x", "busybox", "true"],
    "docker inspect --format {{range $p, $conf := .NetworkSettings.Ports}}{{$p}}={{(index $conf 0).HostPort}} {{end}} "
    "shp-web": ["inspect", "--format", "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}}={{(index $conf 0).HostPort}} "
                "{{end}}", "shp-run"],
    "docker inspect --format {{index .Config.Labels \"tier\"}} {{join .Config.Cmd \",\"}} {{upper .Name}} "
    "{{json .Config.Healthcheck}} shp-web":
        ["inspect", "--format", "{{index .Config.Labels \"tier\"}} {{join .Config.Cmd \",\"}} {{upper .Name}} "
         "{{json .Config.Healthcheck}}", "shp-run"],
    "docker ps --filter health=healthy --format table {{.Names}}\\t{{.Status}}":
        ["ps", "--filter", "health=healthy", "--format", "table {{.Names}}\\t{{.Status}}"],
    "docker inspect --format {{.State.ExitCode}} {{.State.Status}} {{.RestartCount}} "
    "{{.HostConfig.RestartPolicy.Name}} shp-exit shp-web":
        ["inspect", "--format", "{{.State.ExitCode}} {{.State.Status}} {{.RestartCount}} "
         "{{.HostConfig.RestartPolicy.Name}}", "shp-exit", "shp-run"],
}
# compared elsewhere (compare_logs: the order of two streams is a race)
ELSEWHERE = {"docker logs --tail 1 shp-exit"}
# the corpus's names → this run's
RENAMES = [("shp-web", "shp-run"), ("SHP-WEB", "SHP-RUN")]
PORTS = ["18300", "18301"]  # free ones at run time


def compare_errors(ids):
    for cmd, out, code in corpus_errors():
        args = ERROR_CASES.get(cmd)
        if args is None:
            if cmd not in ELSEWHERE:
                # a case of a feature kiln does not have yet: the allow-list says which
                differ(f"error-case:{cmd}", "not run: kiln has no equivalent yet")
            continue
        args = [a.replace("{P1}", PORTS[0]) for a in args]
        p = kiln(*args, check=False)
        got = normalise((p.stdout + p.stderr).strip(), ids)
        want = normalise(out, ids)
        for a, b in RENAMES + [("18300", PORTS[0]), ("18301", PORTS[1])]:
            want = want.replace(a, b)
        if p.returncode != code:
            differ(f"error:{' '.join(args)}:exit", f"kiln {p.returncode}, docker {code}")
        # times in a status, and ls -l's dates, differ from run to run
        times = r"(?<=Up )(\d+ seconds?|Less than a second|About a minute)|" \
                r"\d+ seconds? ago|Less than a second ago|About a minute ago|\b[A-Z][a-z]{2} +\d+ \d\d:\d\d\b"
        g = re.sub(times, "<T> ago", got)
        w = re.sub(times, "<T> ago", want)
        if g != w:
            differ(f"error:{' '.join(args)}:message", f"kiln {g!r}, docker {w!r}")


def free_ports(n):
    """n host ports free now on 127.0.0.1 and 0.0.0.0 (TCP and UDP)."""
    import socket
    out = []
    while len(out) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(socket.AF_INET, kind)
                t.bind(("0.0.0.0", port))
                t.close()
        except OSError:
            continue
        if str(port) not in out:
            out.append(str(port))
    return out


def main():
    global ENV, PORTS
    tmp = tempfile.mkdtemp(prefix="kiln-shapes-")
    root = os.path.join(tmp, "store")
    ENV = dict(os.environ, KILN_ROOT=root)
    try:
        top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        subprocess.run([os.path.join(top, "scripts", "base-images"), "--kiln", KILN], env=ENV, check=True,
                       capture_output=True, timeout=300)
        kiln("run", "--name", "shp-exit", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
        kiln("network", "create", "shp-net")
        PORTS = free_ports(2)
        run_id = kiln("run", "-d", "--name", "shp-run", "--label", "tier=front", "--restart", "on-failure:3",
                      "--network", "shp-net", "--network-alias", "web-alias", "-v", "shp-vol:/data",
                      "-p", f"127.0.0.1:{PORTS[0]}:80",
                      "-p", f"{PORTS[1]}:81/udp",
                      "--health-cmd", "wget -q -O /dev/null http://127.0.0.1:80/ || exit 1",
                      "--health-interval", "1s", "--health-retries", "3", "--health-start-period", "2s",
                      "busybox", "sh", "-c",
                      "mkdir -p /w && echo hello > /w/index.html && echo started && exec httpd -f -p 80 -h /w"
                      ).stdout.strip()
        # healthy, as shp-web was when docker's outputs were captured
        for _ in range(200):
            if kiln("inspect", "-f", "{{.State.Health.Status}}", "shp-run").stdout.strip() == "healthy":
                break
            time.sleep(0.1)
        exit_id = kiln("ps", "-aq", "--no-trunc", "--filter", "name=shp-exit").stdout.strip()
        compare_ps_table("ps-table.txt", [])
        compare_ps_table("ps-a-notrunc.txt", ["-a", "--no-trunc"])
        compare_ps_json()
        compare_inspect()
        compare_network(run_id)
        compare_logs(root, exit_id)
        compare_errors([run_id, exit_id])
    finally:
        every = subprocess.run([KILN, "ps", "-aq"], env=ENV, capture_output=True, text=True).stdout.split()
        subprocess.run([KILN, "rm", "-f", *every], env=ENV, capture_output=True)
        subprocess.run([KILN, "network", "rm", "shp-net"], env=ENV, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    allowed = {}
    with open(ALLOW) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            ident, _, reason = line.rstrip("\n").partition("\t")
            if not reason.strip():
                sys.exit(f"{ALLOW}:{n}: {ident}: an entry needs a reason")
            allowed[ident] = reason
    bad = {k: v for k, v in diffs.items() if k not in allowed}
    for k in sorted(set(allowed) - set(diffs)):
        print(f"docker_shapes: {k} does not differ any more: drop it from {os.path.basename(ALLOW)}")
    for k in sorted(bad):
        print(f"docker_shapes: {k}: {bad[k]}")
    print(f"docker-shapes: {len(diffs)} differences, {len(diffs) - len(bad)} allowed, {len(bad)} not")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
