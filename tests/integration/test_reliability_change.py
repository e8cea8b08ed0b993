"""test_reliability_change - a source file that changes under hoist never
becomes a wrong object (issue 5).

 6. While a throttled upload runs, the file is appended to, its mtime is
    rewritten, or it is truncated (pread and --io mmap, cut inside a part
    that is in flight, and to zero): hoist refuses to complete with exit 6
    (E_SOURCE_CHANGED) and one "hoist: " line, and no object exists.  With
    mmap a truncation must not kill hoist with SIGBUS (exit -7 / 135): a
    clean error.
 7. hoist is SIGKILLed mid-upload, then the file changes (appended, mtime,
    replaced by another file of the same size): the same command fails with
    a clear error naming the change and the kept upload, touching nothing;
    --restart aborts the old upload (ls-uploads: its id is gone) and uploads
    the new contents byte-exact.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403

t = Tap()
PART = 1 * MiB
SIZE = 16 * MiB
JOBS = 4
SIGBUS_CODES = (-7, 135)


def mutate(path, how):
    if how == "append":
        with open(path, "ab") as w:
            w.write(b"appended" * 128)
    elif how == "mtime":
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    elif how == "replace":
        # Same size, new contents, a new inode under the same name.
        make_file(path + ".new", os.path.getsize(path), seed=99)
        os.rename(path + ".new", path)
    elif how.startswith("truncate:"):
        os.truncate(path, int(how.split(":")[1]))
    else:
        raise ValueError(how)


def last_line(err):
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


with TempDir() as d:
    # ------------------------------------------- 6. changes during the upload
    # 4 connections at 2 MB/s: about 2 s for the file.  The change happens
    # once the server has received about 40% (parts 5 to 8 in flight).
    cases = [("append", "append", []),
             ("mtime rewritten", "mtime", []),
             ("truncated (pread)", "truncate:%d" % (4 * MiB + 12345), []),
             ("truncated mid-part (mmap)", "truncate:%d" % (6 * MiB + 4321), ["--io", "mmap"]),
             ("truncated to zero (mmap)", "truncate:0", ["--io", "mmap"]),
             ("appended (mmap)", "append", ["--io", "mmap"])]
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "2"]) as srv:
        for i, (name, how, extra) in enumerate(cases):
            f = make_file(os.path.join(d, "live%d" % i), SIZE, seed=60 + i)
            ck = os.path.join(d, "ck-live%d" % i)
            key = "change/%d" % i
            b0 = srv.stats()["bytes_in"]
            proc = start_cp(srv.url, f, key, "--part-size", "1M", "--jobs", str(JOBS), "--checkpoint-dir", ck,
                            *extra)
            wait_stats(srv, lambda s: s["bytes_in"] - b0 >= 0.4 * SIZE or proc.poll() is not None, interval=0.005)
            running = proc.poll() is None
            mutate(f, how)
            rc, out, err, js = finish(proc, timeout=120)
            t.ok(running, "file %s during upload: the change came mid-upload" % name)
            t.ok(rc not in SIGBUS_CODES and rc >= 0, "file %s during upload: no crash (rc %s)" % (name, rc), err[-800:])
            t.ok(rc == 6 and js is not None and js["status"] == "E_SOURCE_CHANGED"
                 and last_line(err).startswith("hoist: "),
                 "file %s during upload: exit 6, E_SOURCE_CHANGED, one line" % name,
                 "rc=%s %s\n%s" % (rc, brief(js), err[-800:]))
            t.ok("change" in last_line(err) or "shorter" in last_line(err),
                 "file %s during upload: the line says the file changed" % name, last_line(err))
            t.eq((head_status(srv, "bkt", key), get_status(srv, "bkt", key)), (404, 404),
                 "file %s during upload: no object" % name)
        t.eq(stats_sum(srv.stats(), "complete", lambda c: c == "200"), 0,
             "files that changed during upload: no Complete ever succeeded")

    # ------------------------------------------- 7. changes between crash and rerun
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "2"]) as srv:
        for i, how in enumerate(("append", "mtime", "replace")):
            f = make_file(os.path.join(d, "crash%d" % i), SIZE, seed=70 + i)
            ck = os.path.join(d, "ck-crash%d" % i)
            key = "crashchange/%d" % i
            args = ("--part-size", "1M", "--jobs", str(JOBS), "--checkpoint-dir", ck)
            n0 = stats_sum(srv.stats(), "uploadpart", lambda c: c == "200")
            proc = start_cp(srv.url, f, key, *args)
            wait_stats(srv, lambda s: stats_sum(s, "uploadpart", lambda c: c == "200") >= n0 + 4
                       or proc.poll() is not None, interval=0.005)
            # Let the journal's once-a-second flush record the parts.
            time.sleep(1.2)
            t.ok(kill9(proc), "%s after a crash: hoist killed mid-upload" % how)
            ups = [u for u in ls_uploads(srv.url, key) or [] if u[0] == key]
            t.ok(len(ups) == 1 and len(journals(ck)) == 1, "%s after a crash: upload and journal kept" % how,
                 (ups, files_under(ck)))
            old = ups[0][1] if ups else "none"
            mutate(f, how)
            # The killed hoist's last bytes may still be draining from socket
            # buffers into the throttled server: let them land first.
            before = wait_stats(srv, lambda s: s["active_connections"] <= 1, timeout=20) or srv.stats()
            p, js = cp(srv, f, "bkt", key, *args)
            line = last_line(p.stderr)
            t.ok(p.returncode == 6 and js is not None and js["status"] == "E_SOURCE_CHANGED",
                 "%s after a crash: the rerun fails with exit 6" % how, "rc=%s %s" % (p.returncode, p.stderr))
            t.ok(line.startswith("hoist: ") and "changed" in line and old in line and "--restart" in line,
                 "%s after a crash: one line naming the change, the old upload and --restart" % how, line)
            after = srv.stats()
            t.ok(stats_sum(after, "uploadpart") == stats_sum(before, "uploadpart")
                 and stats_sum(after, "complete") == stats_sum(before, "complete")
                 and js is not None and js["bytes_sent"] == 0,
                 "%s after a crash: the refused rerun sent no part and no Complete" % how,
                 (before["requests"], after["requests"], brief(js)))
            t.eq([u for u in ls_uploads(srv.url, key) or [] if u[0] == key], ups,
                 "%s after a crash: the refused rerun keeps the old upload" % how)
            t.eq(head_status(srv, "bkt", key), 404, "%s after a crash: no object" % how)

            p, js = cp(srv, f, "bkt", key, *args, "--restart")
            check_upload(t, srv, f, "bkt", key, p, js, "%s after a crash, --restart" % how, part_size=PART)
            t.ok(js is not None and js["upload_id"] != old and js["resumed_parts"] == 0,
                 "%s after a crash, --restart: a new upload, nothing resumed" % how, brief(js, "upload_id",
                                                                                           "resumed_parts"))
            left = ls_uploads(srv.url, key)
            t.ok(left is not None and old not in [u[1] for u in left] and not [u for u in left if u[0] == key],
                 "%s after a crash, --restart: the old upload id is gone (ls-uploads)" % how, left)
            t.eq(journals(ck), [], "%s after a crash, --restart: no journal left" % how)
t.done()
