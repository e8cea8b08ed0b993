"""test_reliability_resume - crashes on either side; hoist never loses work
it already did and never leaves a wrong object (issue 5, fault suite).

 4. ossemu is SIGKILLed mid-upload and restarted on the same port with the
    same --data-dir.  A short outage: hoist rides through on retries, or
    fails keeping its journal and the same command resumes.  An outage
    longer than the retry budget (--retries 1): hoist fails, keeps the
    upload and its journal; the same command resumes (resumed_parts > 0)
    and finishes byte-exact.
 5. hoist is SIGKILLed at seeded random points (before Initiate, mid-parts,
    near the end) and the same command is run again: the object is
    byte-exact with crcmod's CRC64, the journal is gone, the bytes sent
    again (ossemu's bytes_in over both runs minus the file size) are at
    most (jobs + 1) parts: only the parts that were in flight, and no
    multipart upload is left open by any kill.
 8. --no-resume: a failing upload is aborted (ls-uploads empty, no journal);
    without it the same failure keeps the upload and the journal and the
    message says how to resume or abort.
Throttled (--conn-bandwidth) so there is a "mid-upload" to hit.
"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403

t = Tap()
PART = 1 * MiB
SIZE = 16 * MiB
JOBS = 4


def restart_ossemu(port, data_dir, args):
    """A new ossemu on the same port and data directory; the port may take
    a moment to be free again."""
    end = time.monotonic() + 10
    while True:
        try:
            return Ossemu(args=args, data_dir=data_dir, port=port)
        except RuntimeError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def check_journal_gone(name, ck):
    t.eq(journals(ck), [], name + ": no journal left after success")


with TempDir() as d:
    f = make_file(os.path.join(d, "data"), SIZE, seed=41)

    # ------------------------------------------------- 4. the server crashes
    # 4 connections at 1 MB/s: about 4 s for the file.
    SRV_ARGS = ["--anonymous", "--conn-bandwidth", "1"]
    for name, outage, extra in (("short outage", 0.3, []),
                                ("outage longer than the retry budget", 4.0, ["--retries", "1"])):
        data_dir = tempfile.mkdtemp(prefix="ossemu-data-", dir=d)
        ck = os.path.join(d, "ck-srv-%d" % len(extra))
        key = "srvcrash/%d" % len(extra)
        args = ("--part-size", "1M", "--jobs", str(JOBS), "--checkpoint-dir", ck, *extra)
        srv = Ossemu(args=SRV_ARGS, data_dir=data_dir)
        srv2 = None
        try:
            proc = start_cp(srv.url, f, key, *args)
            st = wait_stats(srv, lambda s: stats_sum(s, "uploadpart", lambda c: c == "200") >= 3)
            t.ok(st is not None and proc.poll() is None, name + ": ossemu killed mid-upload (3 parts stored)")
            srv.proc.kill()
            srv.proc.wait()
            time.sleep(outage)
            srv2 = restart_ossemu(srv.port, data_dir, SRV_ARGS)
            rc, out, err, js = finish(proc, timeout=120)
            p = subprocess.CompletedProcess(proc.args, rc, out, err)
            if rc == 0:
                t.ok(outage < 1, name + ": hoist rode through the outage on retries", brief(js))
            else:
                # Failed: the upload and its journal must be kept for resume.
                t.ok(rc == 3 and js is not None and err.strip().splitlines()[-1].startswith("hoist: "),
                     name + ": hoist gave up with exit 3 and one line", "rc=%s %s" % (rc, err[-1500:]))
                t.ok("resume" in err or "rerun" in err, name + ": the message says how to resume", err[-1500:])
                t.eq(len(journals(ck)), 1, name + ": the journal is kept")
                t.eq([k for k, _ in ls_uploads(srv2.url) or []], [key], name + ": the upload is kept")
                p, js = cp(srv2, f, "bkt", key, *args)
                t.ok(js is not None and js.get("resumed_parts", 0) > 0,
                     name + ": the same command resumes (resumed_parts > 0)", brief(js))
            check_upload(t, srv2, f, "bkt", key, p, js, name + ": after the server's crash", part_size=PART)
            check_journal_gone(name, ck)
            t.eq(ls_uploads(srv2.url), [], name + ": no multipart upload left open")
        finally:
            if srv2:
                srv2.__exit__(None, None, None)
            srv.__exit__(None, None, None)

    # ------------------------------------------------- 5. hoist crashes
    # 4 connections at 2 MB/s: about 2 s for the file.  The kill point is a
    # seeded fraction of the bytes the server has received (or, for a few
    # runs, a few ms after start: before or during Initiate).
    runs = scaled(10, 6)
    rnd = random.Random(5005)
    bound = (JOBS + 1) * PART
    worst = 0
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "2"]) as srv:
        for i in range(runs):
            key = "kill/%02d" % i
            ck = os.path.join(d, "ck-kill-%02d" % i)
            args = ("--part-size", "1M", "--jobs", str(JOBS), "--checkpoint-dir", ck)
            point = rnd.uniform(-0.15, 0.95)
            b0 = srv.stats()["bytes_in"]
            proc = start_cp(srv.url, f, key, *args)
            if point <= 0:
                time.sleep(rnd.uniform(0.0, 0.1))
                where = "at start"
            else:
                wait_stats(srv, lambda s: s["bytes_in"] - b0 >= point * SIZE or proc.poll() is not None,
                           timeout=60, interval=0.005)
                where = "at %d%%" % (point * 100)
            killed = kill9(proc)
            b1 = srv.stats()["bytes_in"]
            name = "hoist killed %s (run %d)" % (where, i + 1)
            t.ok(killed, name + ": hoist was still running when killed")
            p, js = cp(srv, f, "bkt", key, *args)
            check_upload(t, srv, f, "bkt", key, p, js, name + ", rerun", part_size=PART)
            b2 = srv.stats()["bytes_in"]
            # Complete bodies are a few KB: counted in the slack of one part.
            resent = b2 - b0 - SIZE
            worst = max(worst, resent)
            t.ok(resent <= bound, name + ": re-sent %d bytes <= (jobs + 1) parts (%d); first run sent %d, "
                 "rerun resumed %s parts" % (resent, bound, b1 - b0, (js or {}).get("resumed_parts")))
            check_journal_gone(name, ck)
            left = ls_uploads(srv.url, key)
            t.ok(js is not None and left is not None and js["upload_id"] not in [u[1] for u in left],
                 name + ": the upload the rerun finished is closed", left)
        # The journal records the intent before Initiate, so even a kill
        # while Initiate was in flight leaves nothing the rerun misses.
        orphans = ls_uploads(srv.url, "kill/")
        t.eq(orphans, [], "%d kills: no multipart upload left open" % runs)
        print("# %d kills: worst re-sent %.2f MiB (bound %.0f MiB)" % (runs, worst / MiB, bound / MiB),
              flush=True)

    # ------------------------------------------------- 8. --no-resume
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:fail=1"]) as srv:
        for name, extra in (("--no-resume", ["--no-resume"]), ("resumable", [])):
            ck = os.path.join(d, "ck-nr-%d" % len(extra))
            key = "noresume/%d" % len(extra)
            p, js = cp(srv, f, "bkt", key, "--part-size", "1M", "--jobs", str(JOBS), "--retries", "1",
                       "--checkpoint-dir", ck, *extra)
            t.ok(p.returncode == 3 and js is not None and js["status"] in ("E_SERVER", "E_THROTTLED"),
                 "failing upload, %s: exit 3, server error" % name,
                 "rc=%s %s %s" % (p.returncode, brief(js), p.stderr[-800:]))
            ups = [u for u in ls_uploads(srv.url, key) or [] if u[0] == key]
            if extra:
                t.eq(ups, [], "failing upload, --no-resume: the multipart upload is aborted (ls-uploads empty)")
                t.eq(journals(ck), [], "failing upload, --no-resume: no journal")
                t.ok(stats_sum(srv.stats(), "abort", lambda c: c.startswith("2")) >= 1,
                     "failing upload, --no-resume: an Abort reached the server")
            else:
                t.eq(len(ups), 1, "failing upload, resumable: the multipart upload is kept")
                t.eq(len(journals(ck)), 1, "failing upload, resumable: the journal is kept")
                uid = ups[0][1] if ups else "?"
                t.ok(uid in p.stderr and "hoist abort" in p.stderr,
                     "failing upload, resumable: the message names the upload id and 'hoist abort'", p.stderr)
            t.eq(head_status(srv, "bkt", key), 404, "failing upload, %s: no object" % name)
    # Also with a checksum failure (exit 4) and --no-resume.
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:bad-crc=1"]) as srv:
        ck = os.path.join(d, "ck-nr-crc")
        p, js = cp(srv, f, "bkt", "noresume/crc", "--part-size", "1M", "--jobs", str(JOBS), "--retries", "1",
                   "--checkpoint-dir", ck, "--no-resume")
        t.eq(p.returncode, 4, "bad CRC, --no-resume: exit 4")
        t.eq(ls_uploads(srv.url), [], "bad CRC, --no-resume: the multipart upload is aborted")
        t.eq(journals(ck), [], "bad CRC, --no-resume: no journal")
t.done()
