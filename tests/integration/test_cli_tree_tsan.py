"""test_cli_tree_tsan - cp -r with many uploads at once, small enough for TSan.

tests/run.sh runs files named *tsan* in the ThreadSanitizer suite too: the
tree's hand-offs (on_done from the loops into the main thread's queue, the
progress counter, the log callback sharing the terminal lock) run here
with two event loops and --verbose, so a race makes the TSan build exit
non-zero; then a --checksum-compare rerun (16 checker threads).  Then a
SIGINT in the middle of a tree: exit 130, the line that
says so, and every object that was reported sent is whole.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    src = os.path.join(d, "src")
    n = scaled(300, 120)
    for i in range(n):
        sub = os.path.join(src, "d%d" % (i % 5))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%04d" % i), "wb") as f:
            f.write(os.urandom(i % 3000))
    for i in range(2):
        make_file(os.path.join(src, "big%d" % i), 2 * MiB + i, seed=i + 5)
    total = n + 2

    p = hoist("cp", "-r", src, "oss://bkt/tt/", "--endpoint", srv.url, "--json", "--verbose",
              "--io-threads", "2", "--part-size", "256K", "--jobs", "16", "--files", "32", timeout=600)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    summ = lines[-1] if lines and lines[-1].get("summary") else {}
    t.ok(p.returncode == 0 and summ.get("sent") == total, "cp -r, 2 loops, --verbose: every file sent",
         "rc=%s %s\n%s" % (p.returncode, summ, p.stderr[-3000:]))
    t.ok("ThreadSanitizer" not in p.stderr, "cp -r: no TSan report", p.stderr[-3000:])
    bad = []
    for x in lines:
        if x.get("action") != "sent":
            continue
        digest, size = object_sha256(srv, "bkt", x["key"])
        if digest != file_sha256(os.path.join(src, x["file"])):
            bad.append(x["file"])
    t.ok(not bad and len([x for x in lines if x.get("action") == "sent"]) == total,
         "cp -r: every object read back equals its file", bad[:10])

    # --checksum-compare: the checker threads hand their answers to the main thread.
    with open(os.path.join(src, "d1", "f0001"), "r+b") as f:
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 1]))
    p = hoist("cp", "-r", src, "oss://bkt/tt/", "--endpoint", srv.url, "--json", "--skip-existing",
              "--checksum-compare", "--part-size", "256K", "--files", "32", timeout=600)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    t.ok(p.returncode == 0 and [x["file"] for x in lines if x.get("action") == "sent"] == ["d1/f0001"],
         "--checksum-compare with 16 checkers: only the flipped file is sent", p.stdout[-800:] + p.stderr[-2000:])
    t.ok("ThreadSanitizer" not in p.stderr, "--checksum-compare: no TSan report", p.stderr[-3000:])

    # Ctrl-C in the middle of a slow tree (the server delays each request).
    with Ossemu(args=["--anonymous", "--latency", "100"]) as slow:
        proc = subprocess.Popen([HOIST, "cp", "-r", src, "oss://bkt/cancel/", "--endpoint", slow.url, "--json",
                                 "--files", "4", "--no-resume"],
                                env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        summ = lines[-1] if lines and lines[-1].get("summary") else {}
        errs = err.strip().splitlines()
        t.ok(proc.returncode == 130 and errs and "cancelled" in errs[-1] and 0 < summ.get("sent", 0) < total,
             "SIGINT mid-tree: exit 130, some files sent, the last line says cancelled",
             "rc=%s %s\n%s" % (proc.returncode, summ, err[-2000:]))
        t.ok("ThreadSanitizer" not in err, "SIGINT mid-tree: no TSan report", err[-3000:])
        whole = all(object_sha256(slow, "bkt", x["key"])[0] == file_sha256(os.path.join(src, x["file"]))
                    for x in lines if x.get("action") == "sent")
        t.ok(whole, "SIGINT mid-tree: every object reported sent is whole")
t.done()
