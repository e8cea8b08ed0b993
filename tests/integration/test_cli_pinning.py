"""test_cli_pinning - the hash pool is really pinned, one worker per core.

While a large upload runs (to `ossemu --discard`, throttled so it lasts a
few seconds), the test reads /proc/<pid>/task/*/comm for the engine's
hashing threads ("hoist-hash-N") and each one's affinity
(hoisttest.hash_threads): each must be exactly one CPU, CPUs the
process may use, and distinct while there are no more workers than CPUs.
Run with the default thread count (one per core) and with --threads 2.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()

allowed = os.sched_getaffinity(0)
with TempDir() as d, Ossemu(args=["--anonymous", "--conn-bandwidth", "8"], discard=True) as srv:
    f = make_file(os.path.join(d, "big"), scaled(96 * MiB, 48 * MiB), seed=1)
    for name, extra, want in (("default threads", [], len(allowed)), ("--threads 2", ["--threads", "2"], 2)):
        proc = subprocess.Popen([HOIST, "cp", f, "oss://bkt/pin", "--endpoint", srv.url, "--quiet",
                                 "--part-size", "1M", "--jobs", "4", "--checksum", "both", *extra],
                                env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = {}
        deadline = time.monotonic() + 60
        # Sample for a while: threads may start lazily; keep the largest view.
        samples = 0
        while proc.poll() is None and time.monotonic() < deadline and samples < 50:
            th = hash_threads(proc.pid)
            if len(th) >= len(seen):
                seen = th
            if th:
                samples += 1
            time.sleep(0.02)
        out, err = proc.communicate(timeout=120)
        t.eq(proc.returncode, 0, name + ": upload succeeded")
        t.ok(len(seen) == want, name + ": %d hoist-hash-* threads seen (want %d)" % (len(seen), want), seen)
        t.ok(seen and all(len(c) == 1 for _, c in seen.values()),
             name + ": each hashing thread is pinned to one CPU", seen)
        cpus = [next(iter(c)) for _, c in seen.values() if len(c) == 1]
        t.ok(cpus and set(cpus) <= allowed, name + ": pinned to CPUs the process may use", (cpus, allowed))
        if want <= len(allowed):
            t.eq(len(set(cpus)), len(cpus), name + ": one worker per CPU, no two on the same one")
t.done()
