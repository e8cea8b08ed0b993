"""test_mpi - hoist-mpi: one multipart upload split over MPI ranks (issue 17).

`mpirun --oversubscribe -np 4` on this machine against a real ossemu:
 1. A 200 MiB file (40 MiB under the sanitizers): exit 0, the object read
    back equals the file, CRC64 equals crcmod's and the answer's check was
    made; the server saw exactly one Initiate and one Complete, and as many
    UploadParts as parts; the JSON has every rank with its slice (parts and
    bytes adding up to the file).
 2. Every rank failing (UploadPart always 500, --retries 1): the job ends
    in bounded time with exit 3 on every path, the failure names a rank,
    nothing is completed (HEAD 404), and the upload is kept for a rerun.
 3. One rank SIGKILLed midway (ossemu slowed per connection): the job ends
    in bounded time, non-zero, nothing completed; the same mpirun again
    resumes: the object is byte-exact, every part the server held when it
    died is kept (resumed_parts), and only the others are sent again.
 4. --no-resume after a failure aborts the upload (no upload left).
 5. A tree (cp -r) over 4 ranks: every object byte-equal to its file and
    nothing extra; the summary sums the ranks (files sent, bytes); every
    rank sent some, and the split by bytes is balanced (no two ranks
    differ by more than the largest file).
Skipped when mpirun or hoist-mpi is absent (make deps installs Open MPI).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
MPI_BIN = os.path.join(os.path.dirname(HOIST), "hoist-mpi")
MPIRUN = shutil.which("mpirun")
SAN = os.environ.get("HOIST_SUITE", "plain") != "plain"
ENV = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK,
           # Open MPI's own allocations at exit are not ours to report.
           ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0",
           OMPI_MCA_btl="self,vader,tcp", OMPI_MCA_plm_rsh_agent="")
PART = 2 * MiB


def mpirun(np, *args, timeout=300):
    cmd = [MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(np), MPI_BIN, *args]
    return subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def finish(p, timeout=300):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err
    return p.returncode, out, err


def run(np, *args, timeout=300):
    rc, out, err = finish(mpirun(np, *args), timeout)
    js = None
    # Rank 0's result (the one with "ranks"); other ranks' per-file lines of
    # a tree may come after it through mpirun.
    for line in (out or "").splitlines():
        if line.startswith("{") and '"ranks"' in line:
            try:
                js = json.loads(line)
            except ValueError:
                pass
    return rc, js, out, err


def op_count(srv, op):
    return sum((srv.stats().get("requests", {}).get(op) or {}).values())


def uploads_of(srv, key):
    r = hoist("ls-uploads", "oss://bkt/" + key, "--endpoint", srv.url, "--json",
              env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK))
    try:
        return [u for u in json.loads(r.stdout)["uploads"] if u["key"] == key]
    except (ValueError, KeyError):
        return None


def listed_parts(srv, key, upload_id):
    r = hoist("ls-parts", "oss://bkt/" + key, "--upload-id", upload_id, "--endpoint", srv.url,
              "--json", env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK))
    try:
        return json.loads(r.stdout)["count"]
    except (ValueError, KeyError):
        return -1


def rank_pids(mpirun_pid):
    """The hoist-mpi processes under this mpirun."""
    out = subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True).stdout
    kids = {}
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 3:
            kids.setdefault(int(f[1]), []).append((int(f[0]), f[2]))
    found, todo = [], [mpirun_pid]
    while todo:
        p = todo.pop()
        for c, comm in kids.get(p, []):
            if comm.startswith("hoist-mpi"):
                found.append(c)
            todo.append(c)
    return found


if not MPIRUN or not os.access(MPI_BIN, os.X_OK):
    t.ok(True, "# SKIP no mpirun or no hoist-mpi (make deps installs Open MPI)")
    t.done()

with TempDir() as d:
    size = (40 if SAN else 200) * MiB + 12345
    f = make_file(os.path.join(d, "big"), size, seed=17)
    nparts = expected_parts(size, PART)

    # ---------------------------------------------------------- 1. file
    with Ossemu(args=["--anonymous"]) as srv:
        rc, js, out, err = run(4, "cp", f, "oss://bkt/big", "--endpoint", srv.url,
                               "--part-size", "2M", "--json")
        p = subprocess.CompletedProcess([], rc, out, err)
        check_upload(t, srv, f, "bkt", "big", p, js, "4 ranks, %d MiB" % (size >> 20),
                     part_size=PART)
        t.eq(op_count(srv, "initiate"), 1, "one InitiateMultipartUpload for the job")
        t.eq(op_count(srv, "complete"), 1, "one CompleteMultipartUpload for the job")
        t.eq(op_count(srv, "uploadpart"), nparts, "one UploadPart per part, no more")
        ranks = (js or {}).get("ranks") or []
        t.ok(len(ranks) == 4 and all(r["parts"] > 0 and r["status"] == "OK" for r in ranks),
             "every rank uploaded a slice", json.dumps(ranks))
        t.eq(sum(r["parts"] for r in ranks), nparts, "the slices' parts add up to the plan")
        t.eq(sum(r["bytes"] for r in ranks), size, "the slices' bytes add up to the file")

    # ------------------------------------------------- 2. every rank fails
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:fail=1"]) as srv:
        t0 = time.time()
        rc, js, out, err = run(4, "cp", f, "oss://bkt/fail", "--endpoint", srv.url,
                               "--part-size", "2M", "--retries", "1", timeout=120)
        took = time.time() - t0
        t.ok(rc == 3, "every rank failing: exit 3 (got %s)" % rc, err[-2000:] if err else "")
        t.ok(took < 60, "... in bounded time (%.1f s)" % took)
        t.ok(err is not None and "rank " in err and "hoist:" in err,
             "... the failure line names a rank", err[-1500:] if err else "")
        t.eq(head_status(srv, "bkt", "fail"), 404, "... nothing completed")
        t.eq(op_count(srv, "complete"), 0, "... no Complete sent")
        ups = uploads_of(srv, "fail")
        t.ok(ups is not None and len(ups) == 1, "... the upload is kept for a rerun", repr(ups))

    # ------------------------------------------ 3. a rank killed, then resume
    # Slow enough that the kill lands midway: 8 connections at 8 MB/s on
    # 200 MiB, or at 1 MB/s on the sanitizers' 40 MiB.
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "1" if SAN else "8"]) as srv:
        args = ("cp", f, "oss://bkt/kill", "--endpoint", srv.url, "--part-size", "2M",
                "--jobs", "2", "--json")
        p = mpirun(4, *args)
        victim = None
        deadline = time.time() + 60
        while time.time() < deadline and op_count(srv, "uploadpart") < max(8, nparts // 5):
            time.sleep(0.1)
        pids = rank_pids(p.pid)
        if pids:
            victim = pids[-1]
            os.kill(victim, signal.SIGKILL)
        t0 = time.time()
        rc, out, err = finish(p, timeout=120)
        took = time.time() - t0
        t.ok(victim is not None, "a rank was killed midway (%d ranks seen)" % len(pids))
        t.ok(rc is not None and rc != 0, "the job ended non-zero (%s) in %.1f s" % (rc, took),
             (err or "")[-1500:])
        t.eq(head_status(srv, "bkt", "kill"), 404, "... nothing completed")
        ups = uploads_of(srv, "kill")
        held = listed_parts(srv, "kill", ups[0]["upload_id"]) if ups else -1
        t.ok(0 < held < nparts, "the server held some parts when it died (%d of %d)" % (held, nparts))
        before = op_count(srv, "uploadpart")
        rc, js, out, err = run(4, *args)
        p2 = subprocess.CompletedProcess([], rc, out, err)
        check_upload(t, srv, f, "bkt", "kill", p2, js, "rerun after a rank was killed",
                     part_size=PART)
        resent = op_count(srv, "uploadpart") - before
        t.eq((js or {}).get("resumed_parts"), held, "the rerun kept every part the server held")
        t.eq(resent, nparts - held, "... and sent only the others (%d)" % (nparts - held))
        t.eq(js and js.get("upload_id"), ups[0]["upload_id"] if ups else None,
             "... completing the same upload")
        t.eq(uploads_of(srv, "kill"), [], "no upload left open")

    # --------------------------------------------------- 4. --no-resume
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:fail=1"]) as srv:
        rc, js, out, err = run(2, "cp", f, "oss://bkt/nr", "--endpoint", srv.url,
                               "--part-size", "2M", "--retries", "1", "--no-resume",
                               timeout=120)
        t.eq(rc, 3, "--no-resume failure: exit 3")
        t.eq(uploads_of(srv, "nr"), [], "--no-resume: the upload is aborted, none left")

    # ------------------------------------------------------------ 5. tree
    tree = os.path.join(d, "tree")
    files = {}
    sizes = [3 * MiB + 7, 2 * MiB, 1 * MiB + 1, 700 * 1024, 300 * 1024] + [1000 * (i + 1) for i in range(35)]
    for i, n in enumerate(sizes):
        rel = "d%d/%s/f%02d" % (i % 3, "sub" if i % 2 else "x-y", i)
        p = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        make_file(p, n, seed=100 + i)
        files[rel] = p
    with Ossemu(args=["--anonymous"]) as srv:
        rc, js, out, err = run(4, "cp", "-r", tree, "oss://bkt/t/", "--endpoint", srv.url,
                               "--part-size", "1M", "--json")
        t.ok(rc == 0 and js is not None and js.get("summary"), "tree over 4 ranks: exit 0, a summary",
             (err or "")[-1500:])
        js = js or {}
        t.eq(js.get("sent"), len(files), "the summary counts every file once")
        t.eq(js.get("bytes"), sum(sizes), "... and every byte once")
        same = all(object_sha256(srv, "bkt", "t/" + rel) == (file_sha256(p), os.path.getsize(p))
                   for rel, p in files.items())
        t.ok(same, "every object equals its file")
        st = srv.stats()
        t.eq(st.get("objects"), len(files), "nothing extra in the bucket")
        ranks = js.get("ranks") or []
        t.ok(len(ranks) == 4 and all(r["sent"] > 0 for r in ranks), "every rank sent files",
             json.dumps(ranks))
        loads = [r["bytes"] for r in ranks] or [0]
        t.ok(max(loads) - min(loads) <= max(sizes), "the split by bytes is balanced (%s)" % loads)

t.done()
