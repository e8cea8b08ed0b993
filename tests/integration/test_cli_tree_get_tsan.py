"""test_cli_tree_get_tsan - cp -r URL DIR with many downloads at once, small enough for TSan.

tests/run.sh runs files named *tsan* in the ThreadSanitizer suite too: the
tree download's hand-offs (the waiter threads taking jobs from the main
thread's queue and handing results back, the running list that a cancel
walks, the progress counter, the log callback sharing the terminal lock)
run here with two event loops and --verbose, so a race makes the TSan
build exit non-zero.  Then a SIGINT in the middle of a slow tree: exit
130, the last line says so, every file reported received is whole and no
temporary file is left behind.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403


def tree_of(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in fns:
            p = os.path.join(dp, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


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
    p = hoist("cp", "-r", src, "oss://bkt/tt/", "--endpoint", srv.url, "--quiet", timeout=600)
    t.ok(p.returncode == 0, "the tree is uploaded", p.stderr[-2000:])
    want = tree_of(src)

    dst = os.path.join(d, "dst")
    p = hoist("cp", "-r", "oss://bkt/tt/", dst, "--endpoint", srv.url, "--json", "--verbose",
              "--io-threads", "2", "--part-size", "256K", "--jobs", "16", "--files", "32", timeout=600)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    summ = lines[-1] if lines and lines[-1].get("summary") else {}
    t.ok(p.returncode == 0 and summ.get("received") == total, "cp -r URL DIR, 2 loops, --verbose: every file received",
         "rc=%s %s\n%s" % (p.returncode, summ, p.stderr[-3000:]))
    t.ok("ThreadSanitizer" not in p.stderr, "tree download: no TSan report", p.stderr[-3000:])
    t.ok(tree_of(dst) == want, "tree download: every file equals its source")

    # Ctrl-C in the middle of a slow tree (the server delays each request).
    with Ossemu(args=["--anonymous", "--latency", "100"]) as slow:
        p = hoist("cp", "-r", src, "oss://bkt/tt/", "--endpoint", slow.url, "--quiet", timeout=600)
        t.ok(p.returncode == 0, "the tree is uploaded to the slow server", p.stderr[-2000:])
        cdst = os.path.join(d, "cancel")
        proc = subprocess.Popen([HOIST, "cp", "-r", "oss://bkt/tt/", cdst, "--endpoint", slow.url, "--json",
                                 "--files", "4"],
                                env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        summ = lines[-1] if lines and lines[-1].get("summary") else {}
        errs = err.strip().splitlines()
        t.ok(proc.returncode == 130 and errs and "cancelled" in errs[-1] and 0 < summ.get("received", 0) < total,
             "SIGINT mid-tree: exit 130, some files received, the last line says cancelled",
             "rc=%s %s\n%s" % (proc.returncode, summ, err[-2000:]))
        t.ok("ThreadSanitizer" not in err, "SIGINT mid-tree: no TSan report", err[-3000:])
        got = tree_of(cdst)
        recv = sorted(x["file"] for x in lines if x.get("action") == "received")
        t.eq(sorted(got), recv, "SIGINT mid-tree: exactly the files reported received exist (no temporaries)")
        t.ok(all(got[r] == want[r] for r in recv), "SIGINT mid-tree: every file reported received is whole")
t.done()
