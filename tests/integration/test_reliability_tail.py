"""test_reliability_tail - the tail fails fast, and nothing billed is
orphaned (issue 9).

 1. A store that stalls every UploadPart: hoist --retries 2 gives up within
    20 s (not 3 x the 30 s low-speed limit), exit 3, one line that names the
    stall, and the multipart upload is kept for resume.
 2. A slow but moving connection (ossemu --conn-bandwidth 0.5: a 3 MiB part
    takes ~6 s, longer than the idle limit) is not mistaken for a stall:
    no retry, byte-exact.
 3. hoist SIGKILLed while its Initiate is in flight (ossemu --latency 2000:
    the server has created the upload, the answer is still on its way): the
    journal holds the intent, the orphan exists on the server, and the same
    command run again aborts it and uploads anew: no upload left open.
 4. The same kill mid-parts with --no-resume: the rerun aborts the killed
    run's upload (the journal says "resume 0") instead of orphaning it.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403

t = Tap()
PART = 1 * MiB


def restart_ossemu(port, data_dir, args):
    end = time.monotonic() + 10
    while True:
        try:
            return Ossemu(args=args, data_dir=data_dir, port=port)
        except RuntimeError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def journal_text(ck):
    js = journals(ck)
    if len(js) != 1:
        return None
    with open(js[0]) as fh:
        return fh.read()


with TempDir() as d:
    # ------------------------------------------- 1. every UploadPart stalls
    f = make_file(os.path.join(d, "stall"), 3 * MiB + 7, seed=91)
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:stall=1:25"]) as srv:
        ck = os.path.join(d, "ck-stall")
        t0 = time.monotonic()
        p, js = cp(srv, f, "bkt", "stall", "--part-size", "1M", "--jobs", "4", "--retries", "2",
                   "--checkpoint-dir", ck)
        took = time.monotonic() - t0
        lines = p.stderr.strip().splitlines()
        t.eq(p.returncode, 3, "stalled store: exit 3")
        t.ok(took < 20, "stalled store: gave up in %.1f s (< 20 s)" % took)
        t.ok(lines and lines[-1].startswith("hoist: UploadPart part ") and "stalled" in lines[-1],
             "stalled store: one line naming the part and the stall", p.stderr[-1000:])
        t.ok(js is not None and js.get("status") == "E_NETWORK", "stalled store: E_NETWORK", brief(js))
        t.eq(len(journals(ck)), 1, "stalled store: the journal is kept for resume")
        t.eq(len(ls_uploads(srv.url, "stall") or []), 1, "stalled store: the upload is kept for resume")

    # ------------------------------------------- 2. slow but moving
    f2 = make_file(os.path.join(d, "slow"), 6 * MiB, seed=92)
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "0.5"]) as srv:
        t0 = time.monotonic()
        p, js = cp(srv, f2, "bkt", "slow", "--part-size", "3M", "--jobs", "2", "--no-resume")
        took = time.monotonic() - t0
        t.ok(took > 5.5, "slow link: parts took longer than the idle limit (%.1f s)" % took)
        check_upload(t, srv, f2, "bkt", "slow", p, js, "slow link", part_size=3 * MiB)
        t.eq((js or {}).get("retries"), 0, "slow link: no part mistaken for a stall (retries 0)")

    # ------------------------------------------- 3. killed during Initiate
    f3 = make_file(os.path.join(d, "intent"), 4 * MiB + 3, seed=93)
    for name, extra in (("resumable", []), ("--no-resume", ["--no-resume"])):
        data_dir = tempfile.mkdtemp(prefix="ossemu-data-", dir=d)
        ck = os.path.join(d, "ck-intent-%d" % len(extra))
        key = "intent/%d" % len(extra)
        args = ("--part-size", "1M", "--jobs", "4", "--checkpoint-dir", ck, *extra)
        srv = Ossemu(args=["--anonymous", "--latency", "2000"], data_dir=data_dir)
        srv2 = None
        try:
            proc = start_cp(srv.url, f3, key, *args)
            time.sleep(1.0)
            t.ok(kill9(proc), name + ": hoist killed while Initiate was in flight")
            text = journal_text(ck) or ""
            t.ok("\nintent " in text and "upload-id" not in text,
                 name + ": the journal holds the intent, no upload id", text)
            orphans = [u for u in ls_uploads(srv.url, key) or [] if u[0] == key]
            t.eq(len(orphans), 1, name + ": the server holds the upload the killed Initiate created")
            srv.stop()
            srv2 = restart_ossemu(srv.port, data_dir, ["--anonymous"])
            p, js = cp(srv2, f3, "bkt", key, *args)
            check_upload(t, srv2, f3, "bkt", key, p, js, name + ": rerun after the kill", part_size=PART)
            t.eq(ls_uploads(srv2.url, key), [], name + ": the orphan was aborted, no upload left open")
            t.eq(journals(ck), [], name + ": no journal left")
        finally:
            if srv2:
                srv2.__exit__(None, None, None)
            srv.__exit__(None, None, None)

    # ------------------------------------------- 4. --no-resume, killed mid-parts
    f4 = make_file(os.path.join(d, "noresume"), 8 * MiB, seed=94)
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "1"]) as srv:
        ck = os.path.join(d, "ck-nr")
        args = ("--part-size", "1M", "--jobs", "2", "--checkpoint-dir", ck, "--no-resume")
        proc = start_cp(srv.url, f4, "nr", *args)
        st = wait_stats(srv, lambda s: stats_sum(s, "uploadpart", lambda c: c == "200") >= 2)
        t.ok(st is not None and kill9(proc), "--no-resume: killed after 2 parts were stored")
        text = journal_text(ck) or ""
        t.ok("\nresume 0\n" in text and "upload-id" in text,
             "--no-resume: the journal records the upload id, not to be resumed", text)
        t.eq(len(ls_uploads(srv.url, "nr") or []), 1, "--no-resume: the killed run's upload is open")
        p, js = cp(srv, f4, "bkt", "nr", *args)
        check_upload(t, srv, f4, "bkt", "nr", p, js, "--no-resume: rerun", part_size=PART)
        t.eq((js or {}).get("resumed_parts"), 0, "--no-resume: the rerun resumed nothing")
        t.eq(ls_uploads(srv.url, "nr"), [], "--no-resume: the killed run's upload was aborted")
        t.ok(stats_sum(srv.stats(), "abort", lambda c: c.startswith("2")) >= 1,
             "--no-resume: an Abort reached the server")
        t.eq(journals(ck), [], "--no-resume: no journal left")
t.done()
