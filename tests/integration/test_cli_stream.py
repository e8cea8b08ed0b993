"""test_cli_stream - `hoist cp - oss://...` from a pipe (issue 14).

 1. Pipes of 0, 1, part-1, part, part+1, 3 parts + 7 bytes and 300 MiB
    (48 MiB under the sanitizers): exit 0, the object read back equals
    the input, CRC64 equals crcmod's, the part count and ETag as a file of
    those bytes would have (a stream that ends within its first part is one
    PutObject).
 2. `tar cf - DIR | hoist cp -`, read back and untarred, equals DIR.
 3. --expected-size right, and far too small (it is only a plan), work; a
    size --memory-limit cannot carry is refused before anything is sent
    (exit 2, the line names --memory-limit, ossemu saw no request).
 4. Under --fail/--reset/--stall/--bad-crc every streamed object is
    byte-exact, and the server received at most the re-sent parts more than
    the stream: retries came from memory.
 5. The S3 dialect (ossemu's).
 6. Peak RSS with --memory-limit 64M on a 1 GiB stream stays under 64 MiB
    + 24 MiB at --jobs 8 and 256 (plain suite only).
 7. Ctrl-C mid-stream: exit 130, the multipart upload aborted.  SIGKILL
    mid-stream: the next `hoist cp -` of the same key aborts the killed
    run's upload (its journal said "resume 0"), nothing left open.
"""
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403
import hoisttest  # noqa: E402

t = Tap()
PART = 1 * MiB


def cp_pipe(srv, path, bucket, key, *args, scheme="oss", timeout=600, cmd="cat"):
    """`cat PATH | hoist cp - SCHEME://BUCKET/KEY --endpoint ... --json ARGS`."""
    e = dict(os.environ, **CRED_ENV)
    src = subprocess.Popen([cmd, path], stdout=subprocess.PIPE)
    p = subprocess.run([HOIST, "cp", "-", "%s://%s/%s" % (scheme, bucket, key), "--endpoint", srv.url,
                        "--json", *args], stdin=src.stdout, env=e, capture_output=True, text=True,
                       timeout=timeout)
    src.stdout.close()
    src.wait()
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    return p, js


def js_parts(js):
    return (js or {}).get("parts") or 1


with TempDir() as d:
    # ------------------------------------------------------------ 1. sizes
    with Ossemu(args=["--anonymous"]) as srv:
        sizes = [0, 1, PART - 1, PART, PART + 1, 3 * PART + 7]
        for n in sizes:
            f = make_file(os.path.join(d, "s%d" % n), n, seed=n + 3)
            p, js = cp_pipe(srv, f, "bkt", "s/%d" % n, "--part-size", "1M")
            check_upload(t, srv, f, "bkt", "s/%d" % n, p, js, "stream of %d bytes" % n, part_size=PART)
        big = scaled(300, 48) * MiB
        f = make_file(os.path.join(d, "big"), big, seed=7)
        p, js = cp_pipe(srv, f, "bkt", "s/big")
        check_upload(t, srv, f, "bkt", "s/big", p, js, "stream of %d MiB" % (big // MiB), part_size=8 * MiB)
        os.unlink(f)

        # ---------------------------------------------------------- 2. tar
        tree = os.path.join(d, "tree")
        os.makedirs(os.path.join(tree, "a", "b c"))
        for i, (rel, size) in enumerate([("a/one", 5000), ("a/b c/two", 2 * MiB + 1), ("three", 0)]):
            make_file(os.path.join(tree, rel), size, seed=40 + i)
        e = dict(os.environ, **CRED_ENV)
        tar = subprocess.Popen(["tar", "cf", "-", "-C", tree, "."], stdout=subprocess.PIPE)
        p = subprocess.run([HOIST, "cp", "-", "oss://bkt/tree.tar", "--endpoint", srv.url, "--json",
                            "--part-size", "1M"], stdin=tar.stdout, env=e, capture_output=True, text=True,
                           timeout=300)
        tar.stdout.close()
        tar.wait()
        t.eq(p.returncode, 0, "tar | hoist cp -: exit 0")
        tarpath = os.path.join(d, "back.tar")
        with open(tarpath, "wb") as w:
            w.write(get_object(srv.url, "bkt", "tree.tar"))
        out = os.path.join(d, "untar")
        os.makedirs(out)
        with tarfile.open(tarpath) as tf:
            tf.extractall(out)
        r = subprocess.run(["diff", "-r", tree, out], capture_output=True, text=True)
        t.ok(r.returncode == 0, "tar | hoist cp -: untarred equals the tree", r.stdout[-1000:])

        # ---------------------------------------------------- 3. expected size
        f = make_file(os.path.join(d, "exp"), 5 * PART + 3, seed=11)
        for name, exp in (("right", str(5 * PART + 3)), ("far too small", "1K")):
            p, js = cp_pipe(srv, f, "bkt", "exp/" + name, "--part-size", "1M", "--expected-size", exp)
            check_upload(t, srv, f, "bkt", "exp/" + name, p, js, "--expected-size %s" % name, part_size=PART)
        before = srv.stats()["requests"]
        p, js = cp_pipe(srv, f, "bkt", "exp/refused", "--expected-size", "10T", "--memory-limit", "64M")
        t.eq(p.returncode, 2, "--expected-size the budget cannot carry: exit 2")
        t.ok("--memory-limit" in p.stderr and p.stderr.strip().count("\n") == 0,
             "--expected-size the budget cannot carry: one line naming --memory-limit", p.stderr)
        after = srv.stats()["requests"]
        t.eq({k: v for k, v in after.items() if k != "stats"}, {k: v for k, v in before.items() if k != "stats"},
             "--expected-size the budget cannot carry: nothing was sent")

    # ---------------------------------------------------------- 4. faults
    f = make_file(os.path.join(d, "faults"), 24 * PART + 5, seed=21)
    with Ossemu(args=["--anonymous", "--seed", "9", "--fail", "0.05", "--reset", "0.03",
                      "--stall", "0.02:2", "--bad-crc", "0.05"]) as srv:
        for i in range(scaled(4, 2)):
            key = "faults/%d" % i
            s0 = srv.stats()
            p, js = cp_pipe(srv, f, "bkt", key, "--part-size", "1M", "--jobs", "8", "--retries", "8")
            check_upload(t, srv, f, "bkt", key, p, js, "faults %d" % i, part_size=PART)
            s1 = srv.stats()
            got = s1["bytes_in"] - s0["bytes_in"]
            size = os.path.getsize(f)
            # Every UploadPart the server saw beyond one per part was a
            # re-send, from memory (a stream cannot be read twice).
            resent = (stats_sum(s1, "uploadpart") - stats_sum(s0, "uploadpart")) - js_parts(js)
            t.ok(size <= got <= size + max(resent, 0) * PART + 64 * 1024,
                 "faults %d: the server received the stream plus at most the %d re-sent parts "
                 "(%d bytes for %d)" % (i, resent, got, size))

    # ---------------------------------------------------------- 5. S3 dialect
    with Ossemu(args=["--anonymous"]) as srv:
        for n in (0, 5 * MiB + 1, 11 * MiB):
            f = make_file(os.path.join(d, "s3_%d" % n), n, seed=n % 97)
            p, js = cp_pipe(srv, f, "bkt", "s3/%d" % n, "--part-size", "5M", "--path-style", scheme="s3")
            check_upload(t, srv, f, "bkt", "s3/%d" % n, p, js, "s3:// stream of %d bytes" % n,
                         part_size=5 * MiB, want_verified="etag", etag=s3_etag)

    # ---------------------------------------------------------- 6. peak RSS
    if not hoisttest.SLOW:
        g = make_file(os.path.join(d, "g1"), 1024 * MiB, seed=5)
        with Ossemu(args=["--anonymous"], discard=True) as srv:
            for jobs in (8, 256):
                script = ('cat "$1" | /usr/bin/time -f %%M -o "$2" "$3" cp - oss://bkt/rss --endpoint "$4" '
                          '--memory-limit 64M --jobs %d --checksum crc64 --json' % jobs)
                rssf = os.path.join(d, "rss")
                p = subprocess.run(["sh", "-c", script, "sh", g, rssf, HOIST, srv.url],
                                   env=dict(os.environ, **CRED_ENV), capture_output=True, text=True,
                                   timeout=600)
                try:
                    rss = int(open(rssf).read().split()[-1])
                except (OSError, ValueError, IndexError):
                    rss = -1
                t.ok(p.returncode == 0 and 0 < rss < (64 + 24) * 1024,
                     "1 GiB stream, --memory-limit 64M, --jobs %d: peak RSS %d KiB < 88 MiB" % (jobs, rss),
                     p.stderr[-1000:])
        os.unlink(g)

    # ------------------------------------------------- 7. Ctrl-C and SIGKILL
    f = make_file(os.path.join(d, "slow"), 16 * PART, seed=31)
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "2"]) as srv:
        ck = os.path.join(d, "ck-stream")
        for sig, name in ((signal.SIGINT, "Ctrl-C"), (signal.SIGKILL, "SIGKILL")):
            key = "stopped/" + name
            s0 = srv.stats()
            e = dict(os.environ, **CRED_ENV)
            src = subprocess.Popen(["cat", f], stdout=subprocess.PIPE)
            proc = subprocess.Popen([HOIST, "cp", "-", "oss://bkt/" + key, "--endpoint", srv.url, "--json",
                                     "--part-size", "1M", "--jobs", "2", "--checkpoint-dir", ck],
                                    stdin=src.stdout, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            src.stdout.close()
            st = wait_stats(srv, lambda s: stats_sum(s, "uploadpart", lambda c: c == "200")
                            - stats_sum(s0, "uploadpart", lambda c: c == "200") >= 2)
            t.ok(st is not None and proc.poll() is None, name + ": parts stored while the stream runs")
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
            src.wait()
            if sig == signal.SIGINT:
                t.eq(proc.returncode, 130, "Ctrl-C mid-stream: exit 130")
                t.ok("abort" in err.lower() or "cancel" in err.lower(), "Ctrl-C: the line says so", err[-500:])
                t.eq([u for u in ls_uploads(srv.url, key) or [] if u[0] == key], [],
                     "Ctrl-C mid-stream: the multipart upload is aborted")
            else:
                t.eq(len([u for u in ls_uploads(srv.url, key) or [] if u[0] == key]), 1,
                     "SIGKILL mid-stream: its upload is still open")
                small = make_file(os.path.join(d, "again"), 3 * PART, seed=32)
                p, js = cp_pipe(srv, small, "bkt", key, "--part-size", "1M", "--checkpoint-dir", ck)
                check_upload(t, srv, small, "bkt", key, p, js, "SIGKILL, then the same key again",
                             part_size=PART)
                t.eq(ls_uploads(srv.url, key), [], "SIGKILL, then the same key again: the killed "
                     "run's upload was aborted, none left open")
t.done()
