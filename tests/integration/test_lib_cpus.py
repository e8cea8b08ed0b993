"""test_lib_cpus - hoist starts its hash workers on the CPUs it may use.

The engine counts the CPUs of the process's affinity mask and its cgroup
CPU limit, not the machine's.  While a throttled upload runs, the test
reads the hoist-hash-* threads under /proc/<pid>/task and each one's
affinity (os.sched_getaffinity of the thread id):

- `taskset -c N hoist cp ...` starts one worker, on N;
- `taskset -c A,B` (when the machine has two CPUs to give) starts two,
  one on each;
- in a cgroup limited to one CPU (cgroup v1 cpu.cfs_quota_us, or v2
  cpu.max; made by the test as root and removed after), one worker, and
  the --verbose log names the limit.

The expected counts come from the test's own reading of the mask, never
from hoist.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def run_sampled(argv, prefix=()):
    """Runs hoist cp with --verbose under prefix (taskset ...), sampling
    its hash threads; returns (returncode, largest view, stderr)."""
    proc = subprocess.Popen([*prefix, HOIST, *argv, "--verbose"],
                            env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen, samples = {}, 0
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and samples < 30:
        th = {tid: cpus for tid, (_, cpus) in hash_threads(proc.pid).items()}
        if len(th) >= len(seen):
            seen = th
        if th:
            samples += 1
        time.sleep(0.02)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, seen, err


def cgroup_one_cpu():
    """Makes a cgroup limited to one CPU; returns (procs file, cleanup) or
    (None, reason).  v1 'cpu' hierarchy first, else v2 with the cpu
    controller at the root."""
    if os.geteuid() != 0:
        return None, "not root"
    v1 = v2 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) < 5 or len(rest) < 3:
                continue
            if rest[0] == "cgroup" and "cpu" in rest[2].split(",") and fields[3] == "/":
                v1 = fields[4]
            elif rest[0] == "cgroup2" and fields[3] == "/":
                v2 = fields[4]
    name = "hoist-test-cpus-%d" % os.getpid()
    try:
        if v1:
            d = os.path.join(v1, name)
            os.mkdir(d)
            with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
                f.write("100000")
            with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
                f.write("100000")
        elif v2 and "cpu" in open(os.path.join(v2, "cgroup.controllers")).read().split():
            with open(os.path.join(v2, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu")
            d = os.path.join(v2, name)
            os.mkdir(d)
            with open(os.path.join(d, "cpu.max"), "w") as f:
                f.write("100000 100000")
        else:
            return None, "no cgroup hierarchy with the cpu controller"
    except OSError as e:
        return None, "cannot make a cgroup: %s" % e
    return os.path.join(d, "cgroup.procs"), lambda: os.rmdir(d)


allowed = sorted(os.sched_getaffinity(0))
with TempDir() as d, Ossemu(args=["--anonymous", "--conn-bandwidth", "8"], discard=True) as srv:
    f = make_file(os.path.join(d, "big"), scaled(48 * MiB, 24 * MiB), seed=3)
    cp_args = ["cp", f, "oss://bkt/cpus", "--endpoint", srv.url, "--part-size", "1M",
               "--jobs", "4", "--checksum", "both"]

    one = allowed[-1]
    rc, seen, err = run_sampled(cp_args, ["taskset", "-c", str(one)])
    t.eq(rc, 0, "taskset -c %d: upload succeeded" % one)
    t.eq(len(seen), 1, "taskset -c %d: one hash worker" % one)
    t.ok(seen and all(c == {one} for c in seen.values()),
         "taskset -c %d: the worker runs on CPU %d only" % (one, one), seen)
    t.ok("hash workers: 1 on CPUs %d (affinity mask" % one in err,
         "taskset -c %d: the log says where the workers run" % one, err[-2000:])

    if len(allowed) >= 2:
        two = allowed[:2]
        spec = "%d,%d" % tuple(two)
        rc, seen, err = run_sampled(cp_args, ["taskset", "-c", spec])
        t.eq(rc, 0, "taskset -c %s: upload succeeded" % spec)
        t.eq(len(seen), 2, "taskset -c %s: two hash workers" % spec)
        t.eq(sorted(tuple(sorted(c)) for c in seen.values()), [(two[0],), (two[1],)],
             "taskset -c %s: one worker bound to each CPU" % spec)
    else:
        t.ok(True, "taskset with two CPUs # SKIP one CPU only")

    procs, cleanup = cgroup_one_cpu()
    if procs is None:
        t.ok(True, "cgroup limited to 1 CPU # SKIP %s" % cleanup)
    else:
        try:
            # The shell joins the cgroup, then becomes hoist.
            rc, seen, err = run_sampled(
                cp_args, ["sh", "-c", 'echo $$ > "$0" && exec "$@"', procs])
            t.eq(rc, 0, "cgroup limited to 1 CPU: upload succeeded")
            t.eq(len(seen), 1, "cgroup limited to 1 CPU: one hash worker (%d CPUs in the mask)"
                 % len(allowed))
            t.ok("cgroup CPU limit 1)" in err, "cgroup limited to 1 CPU: the log names the limit",
                 err[-2000:])
        finally:
            cleanup()
t.done()
