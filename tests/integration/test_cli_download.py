"""test_cli_download - hoist cp oss://BUCKET/KEY FILE|DIR|- (issue 15).

Objects are put into a real ossemu (by hoist's own upload, and by plain
signed PUTs that share no code with hoist), then downloaded over HTTP by
hoist and compared byte for byte with the bytes that were put, and hoist's
CRC64 with crcmod's.  Sizes: 0, 1, range-1, range, range+1, 3 ranges + 7
and ~300 MiB (scaled down under the sanitizers), to a file, a directory and
standard output, in the OSS and S3 dialects.  Faults: GET resets and 5xx
are recovered byte-exact; --corrupt-get is caught (exit 4, no FILE, no
temporary left); an object overwritten mid-download is exit 6 (If-Match);
ulimit -f is exit 3 and no FILE; an archived object is one line.
"""
import glob
import json
import signal
import hashlib
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from osssign import Client  # noqa: E402

t = Tap()
R = 1 * MiB  # the range size most cases use: more ranges per byte moved
S3ENV = {"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk", "AWS_SESSION_TOKEN": "",
         "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""}


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def dl(srv, key, dest, *args, scheme="oss", env=None, timeout=300):
    """hoist cp SCHEME://bkt/KEY DEST --json: (CompletedProcess, JSON or None).
    With DEST '-' the JSON is on stderr and the bytes (binary) on stdout."""
    e = dict(os.environ)
    e.setdefault("OSS_ACCESS_KEY_ID", "ak")
    e.setdefault("OSS_ACCESS_KEY_SECRET", "sk")
    if env:
        e.update(env)
    cmd = [HOIST, "cp", "%s://bkt/%s" % (scheme, key), dest, "--endpoint", srv.url, "--json", *args]
    p = subprocess.run(cmd, env=e, capture_output=True, timeout=timeout)
    text = p.stderr if dest == "-" else p.stdout
    js = None
    for line in text.decode(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                js = json.loads(line)
            except ValueError:
                pass
    p.err = p.stderr.decode(errors="replace")
    return p, js


def leftovers(d):
    return glob.glob(os.path.join(d, ".*.hoist-*"))


def check(t, name, p, js, want_path, got_path, size, verified="get_crc64"):
    ok = t.ok(p.returncode == 0 and js and js["status"] == "OK", name + ": exit 0",
              "%s %s" % (p.returncode, p.err[-600:]))
    if not ok:
        return False
    ok &= t.ok(os.path.exists(got_path) and os.path.getsize(got_path) == size and
               sha(got_path) == sha(want_path), name + ": the bytes are the object's")
    ok &= t.eq(js["crc64"], file_crc64(want_path), name + ": CRC64 as crcmod computes it")
    ok &= t.eq(js["bytes"], size, name + ": bytes")
    if verified:
        ok &= t.eq(js["verified"], verified, name + ": verified says " + verified)
    return ok


with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    # ---- sizes, to a file, uploaded by hoist ------------------------------------
    sizes = [0, 1, R - 1, R, R + 1, 3 * R + 7]
    for i, size in enumerate(sizes):
        src = make_file(os.path.join(d, "src%d" % size), size, seed=i + 1)
        p, js = cp(srv, src, "bkt", "size/%d" % size, "--part-size", "100K")
        t.ok(p.returncode == 0, "upload of %d bytes" % size, p.stderr)
        out = os.path.join(d, "out%d" % size)
        p, js = dl(srv, "size/%d" % size, out, "--part-size", "1M")
        if check(t, "size %d to a file" % size, p, js, src, out, size):
            want = 0 if size <= R else (size + R - 1) // R
            t.eq(js["parts"], want, "size %d: %d ranges" % (size, want))
        os.unlink(out)

    # The same to standard output and to a directory.
    for size in (0, 1, 3 * R + 7):
        src = os.path.join(d, "src%d" % size)
        p, js = dl(srv, "size/%d" % size, "-", "--part-size", "1M", "--jobs", "3")
        t.ok(p.returncode == 0 and p.stdout == open(src, "rb").read(),
             "size %d to standard output: the bytes, in order" % size, p.err[-400:])
        t.ok(js and js["crc64"] == file_crc64(src) and js["verified"] == "get_crc64",
             "size %d to standard output: the result on stderr" % size, p.err[-400:])
        sub = os.path.join(d, "dir%d" % size)
        os.mkdir(sub)
        p, js = dl(srv, "size/%d" % size, sub, "--part-size", "1M")
        check(t, "size %d into a directory" % size, p, js, src, os.path.join(sub, str(size)), size)
        t.eq(leftovers(sub), [], "size %d into a directory: no temporary left" % size)

    # The default range size (8 MiB) and a large object.
    big = scaled(300 * MiB, 40 * MiB)
    src = make_file(os.path.join(d, "big"), big, seed=77)
    p, js = cp(srv, src, "bkt", "big")
    t.ok(p.returncode == 0, "upload of the large object", p.stderr)
    out = os.path.join(d, "big.out")
    p, js = dl(srv, "big", out)
    if check(t, "%d MiB, default ranges" % (big // MiB), p, js, src, out, big):
        t.eq(js["part_size"], 8 * MiB, "default range size is 8 MiB")
    os.unlink(out)
    p, js = dl(srv, "big", "-", "--memory-limit", "32M")
    t.ok(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() == sha(src),
         "%d MiB to standard output under a 32 MiB reorder budget" % (big // MiB), p.err[-400:])

    # Replacing an existing file, only at the end: mode and bytes are the object's.
    out = os.path.join(d, "replace")
    with open(out, "wb") as f:
        f.write(b"old contents")
    p, js = dl(srv, "size/%d" % (R + 1), out, "--part-size", "256K")
    check(t, "over an existing file", p, js, os.path.join(d, "src%d" % (R + 1)), out, R + 1)

    # ---- objects put by a plain signed PUT (no hoist code) ------------------------
    oss = Client(srv.url, scheme="v1")
    data = os.urandom(2 * R + 5)
    oss.request("PUT", "bkt", "plain/obj", body=data)
    ref = os.path.join(d, "plain.ref")
    with open(ref, "wb") as f:
        f.write(data)
    out = os.path.join(d, "plain.out")
    p, js = dl(srv, "plain/obj", out, "--part-size", "700K")
    check(t, "an object put by a plain PUT", p, js, ref, out, len(data))
    p, js = dl(srv, "plain/obj", out, "--expect-size", str(len(data)), "--expect-crc64",
               str(crc64(data)), "--require-verified")
    t.ok(p.returncode == 0, "--expect-size/--expect-crc64 of the right object: exit 0", p.err)
    os.unlink(out)
    p, js = dl(srv, "plain/obj", out, "--expect-size", str(len(data) + 1))
    t.ok(p.returncode == 4 and "expected" in p.err and not os.path.exists(out),
         "--expect-size off by one: exit 4, no FILE", p.err)
    p, js = dl(srv, "plain/obj", out, "--expect-crc64", str(crc64(data) ^ 1))
    t.ok(p.returncode == 4 and "CRC64" in p.err and not os.path.exists(out),
         "--expect-crc64 wrong: exit 4, no FILE", p.err)
    t.eq(leftovers(d), [], "no temporary files left behind so far")

    # ---- S3 dialect ----------------------------------------------------------------
    for size in (0, 1, 3 * R + 7):
        src = os.path.join(d, "src%d" % size)
        out = os.path.join(d, "s3out%d" % size)
        p, js = dl(srv, "size/%d" % size, out, "--part-size", "1M", scheme="s3", env=S3ENV)
        # S3 stores report no CRC64.  A single PUT's ETag is its MD5 (sizes
        # 0 and 1 were one PutObject), checkable when the object is one
        # range; a multipart one is fetched by its parts, whose MD5s make
        # its ETag (here OSS's rule: it was completed over OSS).
        check(t, "s3:// size %d" % size, p, js, src, out, size,
              verified="get_md5" if size <= 1 else "get_parts_md5")
        p, js = dl(srv, "size/%d" % size, "-", "--part-size", "1M", scheme="s3", env=S3ENV)
        t.ok(p.returncode == 0 and p.stdout == open(src, "rb").read(),
             "s3:// size %d to standard output" % size, p.err[-300:])
    # A single PUT read in several ranges: its MD5 ETag cannot be checked
    # (the bytes do not arrive in order), and S3 offers nothing else.
    big1 = make_file(os.path.join(d, "s3single"), 3 * R + 7, seed=33)
    p = hoist("cp", big1, "s3://bkt/s3single", "--endpoint", srv.url, "--part-size", "64M", env=S3ENV)
    p, js = dl(srv, "s3single", os.path.join(d, "s3rv"), "--require-verified", "--part-size", "1M",
               scheme="s3", env=S3ENV)
    t.ok(p.returncode == 4 and "verif" in p.err and not os.path.exists(os.path.join(d, "s3rv")),
         "s3:// --require-verified without a store checksum: exit 4, no FILE", p.err)

    # Full-object S3 checksums (HEAD with x-amz-checksum-mode: ENABLED).
    src = make_file(os.path.join(d, "s3sum-src"), 11 * R + 3, seed=31)
    for algo, parts, want in (("crc64nvme", "5M", "get_s3sum"), ("crc32c", "100M", "get_s3sum"),
                              ("crc32c", "5M", "get_parts_md5")):
        key = "s3sum/%s-%s" % (algo, parts)
        p = hoist("cp", src, "s3://bkt/" + key, "--endpoint", srv.url, "--s3-checksum", algo,
                  "--part-size", parts, env=S3ENV)
        out = os.path.join(d, "s3sum")
        p, js = dl(srv, key, out, "--part-size", "1M", scheme="s3", env=S3ENV)
        # (crc32c in 5 MiB parts is a COMPOSITE checksum: not checkable;
        # its parts' MD5s check it instead.)
        check(t, "s3:// %s uploaded in %s parts: verified %s" % (algo, parts, want), p, js, src, out,
              11 * R + 3, verified=want)

    # ---- failures ------------------------------------------------------------------
    p, js = dl(srv, "no/such", os.path.join(d, "nosuch"))
    t.ok(p.returncode == 3 and "NoSuchKey" in p.err and not os.path.exists(os.path.join(d, "nosuch")),
         "a missing object: exit 3, NoSuchKey, no FILE", p.err)
    oss.request("PUT", "bkt", "cold", body=b"x" * 3000, headers={"x-oss-storage-class": "Archive"})
    p, js = dl(srv, "cold", os.path.join(d, "cold"))
    lines = [ln for ln in p.err.splitlines() if ln.startswith("hoist:")]
    t.ok(p.returncode == 3 and len(lines) == 1 and "InvalidObjectState" in lines[0] and
         js and js["retries"] == 0, "an archived object: exit 3, one line naming InvalidObjectState, no retry",
         p.err)

    # ulimit -f: EFBIG, exit 3, no FILE; the partial state is kept for a
    # rerun (which then completes), or nothing at all with --no-resume.
    out = os.path.join(d, "limited")
    for extra, name in (("--no-resume", "--no-resume"), ("", "resumable")):
        cmd = "ulimit -f 1024; exec %s cp oss://bkt/size/%d %s --endpoint %s --part-size 1M %s" % (
            HOIST, 3 * R + 7, out, srv.url, extra)
        p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120)
        t.ok(p.returncode == 3 and "File too large" in p.stderr and
             len([ln for ln in p.stderr.splitlines() if ln.startswith("hoist:")]) == 1 and
             not os.path.exists(out), "ulimit -f 1024 (%s): exit 3, one line naming the errno, no FILE" % name,
             p.stderr)
        # (The preallocation fails before any range: nothing worth keeping.)
        t.eq(leftovers(d), [], "ulimit -f 1024 (%s): no temporary, no journal" % name)
    p, js = dl(srv, "size/%d" % (3 * R + 7), out, "--part-size", "1M")
    check(t, "the rerun without the limit", p, js, os.path.join(d, "src%d" % (3 * R + 7)), out, 3 * R + 7)
    t.eq(leftovers(d), [], "after the rerun: no temporary, no journal")
    os.unlink(out)
    p = subprocess.run(["sh", "-c", "ulimit -f 1024; exec %s cp oss://bkt/size/%d - --endpoint %s"
                        " --part-size 1M > %s" % (HOIST, 3 * R + 7, srv.url, out)],
                       capture_output=True, text=True, timeout=120)
    t.ok(p.returncode == 3 and "File too large" in p.stderr,
         "ulimit -f on standard output: exit 3, the errno named", p.stderr)
    os.unlink(out)

    # A slow reader of standard output: the ranges wait for the writer
    # (paused), which is not a stall: no retries, every byte in order.
    src = os.path.join(d, "src%d" % (3 * R + 7))
    reader = "import sys,time; time.sleep(3); sys.stdout.buffer.write(sys.stdin.buffer.read())"
    cmd = "%s cp oss://bkt/size/%d - --endpoint %s --part-size 256K --json | %s -c '%s' > %s" % (
        HOIST, 3 * R + 7, srv.url, sys.executable, reader, out)
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    js = json.loads([ln for ln in p.stderr.splitlines() if ln.startswith("{")][-1]) if "{" in p.stderr else {}
    t.ok(p.returncode == 0 and sha(out) == sha(src) and js.get("retries") == 0,
         "a reader that sleeps 3 s: exact bytes, no stall retries", p.stderr[-500:])
    os.unlink(out)

    # Usage: the options of the other direction are refused, naming them.
    for args, opt in ((["cp", "oss://bkt/size/1", os.path.join(d, "u"), "--content-type", "a/b"], "--content-type"),
                      (["cp", os.path.join(d, "src1"), "oss://bkt/x", "--version-id", "v"], "--version-id")):
        p = hoist(*args, "--endpoint", srv.url)
        t.ok(p.returncode == 2 and opt in p.stderr, "%s in the wrong direction: exit 2 naming it" % opt,
             p.stderr)

    # A directory that cannot take the temporary file: exit 3 at once, one line.
    p, js = dl(srv, "size/1", "/proc/hoist-no-such-dir/x")
    t.ok(p.returncode == 3 and "cannot create" in p.err, "an unwritable target: exit 3, 'cannot create'",
         p.err)

# ---- GET faults: resets and 5xx recovered, byte-exact ------------------------------------
for spec, name in (("getobject:reset=0.3", "resets"), ("getobject:fail=0.3", "5xx answers"),
                   ("getobject:stall=0.2:0.5", "stalls")):
    with TempDir() as d, Ossemu(args=["--anonymous", "--fault", spec, "--seed", "3"]) as srv:
        src = make_file(os.path.join(d, "src"), 6 * R + 11, seed=5)
        p, js = cp(srv, src, "bkt", "f")
        t.ok(p.returncode == 0, "fault run (%s): the upload" % name, p.stderr)
        out = os.path.join(d, "out")
        p, js = dl(srv, "f", out, "--part-size", "512K", "--retries", "10")
        if check(t, "GET %s recovered" % name, p, js, src, out, 6 * R + 11) and name != "stalls":
            # (A 0.5 s stall is waited out: under the 2 s stall limit.)
            t.ok(js["retries"] > 0, "GET %s: the ranges were retried" % name, js["retries"])
        p, js = dl(srv, "f", "-", "--part-size", "512K", "--retries", "10")
        t.ok(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() == sha(src),
             "GET %s recovered to standard output, in order" % name, p.err[-300:])
        # A reorder budget of two chunks: when the range at the write point
        # breaks, every slot is soon held by a range waiting for it, and one
        # must be parked for it to go (before: a hang).  (Resets only: at a
        # 30 % rate of 5xx an unlucky range backs off for tens of seconds.)
        if name == "resets":
            p, js = dl(srv, "f", "-", "--part-size", "512K", "--retries", "20", "--memory-limit", "2M",
                       "--jobs", "4", "--fixed-jobs", timeout=300)
            t.ok(p.returncode == 0 and hashlib.sha256(p.stdout).hexdigest() == sha(src),
                 "GET %s to standard output under a 2 MiB reorder budget: no deadlock, in order" % name,
                 p.err[-300:])

# ---- --corrupt-get: the CRC check catches it, nothing kept -----------------------------------
with TempDir() as d, Ossemu(args=["--anonymous", "--corrupt-get", "0.5", "--seed", "2"]) as srv:
    src = make_file(os.path.join(d, "src"), 4 * R + 3, seed=9)
    p, js = cp(srv, src, "bkt", "c")
    out = os.path.join(d, "out")
    with open(out, "wb") as f:
        f.write(b"precious")
    p, js = dl(srv, "c", out, "--part-size", "512K")
    t.ok(p.returncode == 4 and "CRC64" in p.err, "--corrupt-get: exit 4 naming the CRC64", p.err)
    t.ok(open(out, "rb").read() == b"precious" and leftovers(d) == [],
         "--corrupt-get: the old FILE untouched, no temporary left")
    p, js = dl(srv, "c", os.path.join(d, "new"), "--part-size", "512K")
    t.ok(p.returncode == 4 and not os.path.exists(os.path.join(d, "new")),
         "--corrupt-get: no FILE created", p.err)
    # S3 (no CRC64): caught by the object's full-object CRC64NVME, or by a
    # single PUT's MD5 ETag.
    p = hoist("cp", src, "s3://bkt/c-nvme", "--endpoint", srv.url, "--s3-checksum", "crc64nvme", env=S3ENV)
    p, js = dl(srv, "c-nvme", os.path.join(d, "new"), "--part-size", "512K", scheme="s3", env=S3ENV)
    t.ok(p.returncode == 4 and "crc64nvme" in p.err and not os.path.exists(os.path.join(d, "new")),
         "--corrupt-get over S3: the CRC64NVME check catches it, exit 4", p.err)
    small = make_file(os.path.join(d, "small"), 300000, seed=4)
    p = hoist("cp", small, "s3://bkt/c-md5", "--endpoint", srv.url, env=S3ENV)
    for i in range(3):  # at rate 0.5, one of three GETs is corrupted all but surely
        p, js = dl(srv, "c-md5", os.path.join(d, "new"), scheme="s3", env=S3ENV)
        if p.returncode != 0:
            break
        os.unlink(os.path.join(d, "new"))
    t.ok(p.returncode == 4 and "MD5" in p.err and not os.path.exists(os.path.join(d, "new")),
         "--corrupt-get over S3, a single PUT: the MD5 check catches it, exit 4", p.err)

# ---- the object overwritten mid-download: If-Match -> exit 6 -----------------------------------
with TempDir() as d, Ossemu(args=["--anonymous", "--fault", "getobject:stall=1:1.5"]) as srv:
    a = make_file(os.path.join(d, "a"), 4 * R, seed=1)
    b = make_file(os.path.join(d, "b"), 4 * R, seed=2)
    cp(srv, a, "bkt", "o")
    out = os.path.join(d, "out")
    res = {}

    def run():
        res["p"] = dl(srv, "o", out, "--part-size", "1M", "--jobs", "1", "--fixed-jobs")

    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.7)  # the first range is stalled mid-body now
    cp(srv, b, "bkt", "o")
    th.join()
    p, js = res["p"]
    t.ok(p.returncode == 6 and "changed" in p.err and not os.path.exists(out) and leftovers(d) == [],
         "the object replaced mid-download: exit 6, no FILE, no temporary", p.err)
# ---- resume: SIGKILL or Ctrl-C, then the same command continues -------------------------------
with TempDir() as d, Ossemu(args=["--anonymous", "--conn-bandwidth", "4"]) as srv:
    size = 24 * R + 5
    src = make_file(os.path.join(d, "src"), size, seed=21)
    cp(srv, src, "bkt", "slow", "--part-size", "8M")
    nranges = 25
    for sig, name in ((signal.SIGKILL, "SIGKILL"), (signal.SIGINT, "Ctrl-C")):
        out = os.path.join(d, "out-" + name)
        e = dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk")
        proc = subprocess.Popen([HOIST, "cp", "oss://bkt/slow", out, "--endpoint", srv.url,
                                 "--part-size", "1M", "--jobs", "2", "--fixed-jobs", "--quiet"],
                                env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2.0)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        want_rc = -9 if sig == signal.SIGKILL else 130
        t.ok(proc.returncode == want_rc and not os.path.exists(out),
             "%s mid-download: exit %d, no FILE" % (name, want_rc), err.decode()[-300:])
        if sig == signal.SIGINT:
            t.ok("rerun the same command" in err.decode(), "Ctrl-C: the line says how to resume",
                 err.decode())
        jpath = os.path.join(d, ".out-%s.hoist-journal" % name)
        lines = [ln for ln in open(jpath).read().splitlines() if ln.startswith("r ")] \
            if os.path.exists(jpath) else []
        t.ok(0 < len(lines) < nranges, "%s: the journal lists the finished ranges (%d)" % (name, len(lines)))
        before = srv.stats()["requests"]["getobject"].get("206", 0)
        p, js = dl(srv, "slow", out, "--part-size", "1M", "--jobs", "2", "--fixed-jobs")
        gets = srv.stats()["requests"]["getobject"].get("206", 0) - before
        if check(t, "%s: the same command resumes" % name, p, js, src, out, size):
            t.ok(js["resumed_parts"] >= len(lines) and gets <= nranges - len(lines),
                 "%s: %d ranges kept, only the missing ones fetched (%d GETs)" % (name, js["resumed_parts"], gets))
        t.eq(leftovers(d), [], "%s: after the resumed download, no temporary or journal" % name)

    # A journal of another object (overwritten since) is not trusted.
    out = os.path.join(d, "other")
    proc = subprocess.Popen([HOIST, "cp", "oss://bkt/slow", out, "--endpoint", srv.url, "--part-size", "1M",
                             "--jobs", "2", "--quiet"], env=e)
    time.sleep(1.5)
    proc.kill()
    proc.wait()
    src2 = make_file(os.path.join(d, "src2"), size, seed=22)
    cp(srv, src2, "bkt", "slow", "--part-size", "8M")
    p, js = dl(srv, "slow", out, "--part-size", "1M")
    if check(t, "a partial download of an overwritten object", p, js, src2, out, size):
        t.eq(js["resumed_parts"], 0, "the partial download of the old object was not reused")
t.done()
