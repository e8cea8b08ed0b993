"""test_cli_progress - the progress bar, on a real pseudo-terminal.

hoist draws its bar on stderr only when stderr is a terminal: the test gives
it a pty (and a pipe for stdout), uploads to a throttled ossemu so the bar
is redrawn several times, and checks what reached the terminal: redraws
with carriage returns, percent, bytes, rate, ETA and parts in flight, a
final 100 % line ended by a newline, and the result printout on stdout
untouched by any of it.  With --quiet the terminal stays silent; with a
pipe instead of a terminal (every other test) nothing is drawn.
"""
import os
import pty
import re
import select
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def run_on_pty(args, timeout=120):
    """Runs hoist with stderr on a pty; returns (rc, stdout, tty bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([HOIST, *args], stdout=subprocess.PIPE, stderr=slave,
                            env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK))
    os.close(slave)
    tty = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            break
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not b:
            break
        tty += b
    os.close(master)
    out = proc.stdout.read().decode()
    proc.wait(timeout=timeout)
    return proc.returncode, out, tty.decode(errors="replace")


with TempDir() as d, Ossemu(args=["--anonymous", "--conn-bandwidth", "1"]) as srv:
    f = make_file(os.path.join(d, "data"), 40 * 102400, seed=1)
    rc, out, tty = run_on_pty(["cp", f, "oss://bkt/bar", "--endpoint", srv.url, "--part-size", "100K",
                               "--jobs", "2"])
    t.eq(rc, 0, "upload with a terminal: exit 0")
    frames = [x for x in tty.split("\r") if "%" in x]
    t.ok(len(frames) >= 3, "the bar is redrawn in place (%d frames)" % len(frames), tty[-2000:])
    live = [x for x in frames if "in flight" in x]
    t.ok(live and all(re.search(r"\d+% .*/ 3\.91 MiB .*/s  ETA +[\d:-]+ +\d+ in flight", x) for x in live),
         "frames show percent, bytes of total, rate, ETA, parts in flight", live[:3])
    pcts = [int(re.match(r"\s*(\d+)%", x).group(1)) for x in frames if re.match(r"\s*\d+%", x)]
    t.ok(pcts == sorted(pcts) and pcts and pcts[-1] == 100, "percent only grows, ends at 100", pcts)
    t.ok(tty.rstrip("\r\n").split("\r")[-1].lstrip().startswith("100%") and tty.endswith("\n"),
         "the final line is complete and ends the terminal line", repr(tty[-200:]))
    t.ok("status:" in out and "CRC64 verified by response" in out and "\r" not in out and "%" not in out,
         "stdout carries the result printout, no bar", out)

    rc, out, tty = run_on_pty(["cp", f, "oss://bkt/quiet", "--endpoint", srv.url, "--part-size", "100K",
                               "--quiet"])
    t.ok(rc == 0 and tty == "" and out == "", "--quiet on a terminal: nothing drawn, nothing printed",
         repr(tty[:300]) + out)

    # --verbose part lines (stdout) and the bar (stderr) share the terminal
    # when both are one: every part line must come out whole.
    master, slave = pty.openpty()
    proc = subprocess.Popen([HOIST, "cp", f, "oss://bkt/both", "--endpoint", srv.url, "--part-size", "100K",
                             "--verbose"], stdout=slave, stderr=slave,
                            env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK))
    os.close(slave)
    buf = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        buf += b
    os.close(master)
    proc.wait(timeout=60)
    text = buf.decode(errors="replace").replace("\r\n", "\n")
    parts = re.findall(r"part (\d+): status 200, request id \S+, content MD5 \S+, ETag \"[0-9A-F]{32}\", CRC64 \d+",
                       text)
    t.ok(proc.returncode == 0 and sorted(int(x) for x in parts) == list(range(1, 41)),
         "--verbose with the bar: all 40 part lines intact", text[-1500:])
t.done()
