#!/usr/bin/env python3
"""Runs a command on a terminal of its own, as a user at a keyboard would.

tty_drive.py [--rows R --cols C] [--send SECONDS:TEXT]... [--resize SECONDS:RxC] -- CMD...

TEXT takes Python escapes (\\x10 is ctrl-p). What the command writes to the
terminal goes to stdout (\\r removed); the exit status is the command's.  Every
wait is bounded: a command still running 20 s after the last step is killed."""
import argparse, fcntl, os, pty, select, signal, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=24)
ap.add_argument("--cols", type=int, default=80)
ap.add_argument("--send", action="append", default=[])
ap.add_argument("--resize", action="append", default=[])
ap.add_argument("cmd", nargs="+")
a = ap.parse_args()

steps = []
for s in a.send:
    t, text = s.split(":", 1)
    steps.append((float(t), "send", text.encode().decode("unicode_escape").encode("latin-1")))
for s in a.resize:
    t, size = s.split(":", 1)
    r, c = size.split("x")
    steps.append((float(t), "resize", (int(r), int(c))))
steps.sort(key=lambda x: x[0])

pid, fd = pty.fork()
if pid == 0:
    # The size is set by the child on its own terminal before the command starts:
    # set from the parent after fork, a fast command could read 0x0 first (CI saw
    # `stty size` fail that way about once in 15 runs under load).
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", a.rows, a.cols, 0, 0))
    os.execvp(a.cmd[0], a.cmd)
start = time.time()
out = b""
deadline = start + (steps[-1][0] if steps else 0) + 20
while True:
    now = time.time()
    while steps and now - start >= steps[0][0]:
        _, kind, arg = steps.pop(0)
        if kind == "send":
            os.write(fd, arg)
        else:
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", arg[0], arg[1], 0, 0))
    if now > deadline:
        os.kill(pid, signal.SIGKILL)
        break
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d and not steps:
            break
        out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\r", b"").decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else st >> 8)
