#!/usr/bin/python3
"""test_cli_download_parts - an S3 multipart object verified by its parts
(issue 15): with no full-object checksum, its "<md5>-N" ETag is all the
store offers, and hoist checks it where the store serves ?partNumber=N.

Real HTTP to ossemu's S3 dialect; objects put by boto3 (the AWS SDK) and by
hoist; every download compared by sha256 with what was put, the ETag the
parts make computed here with hashlib:
- parts of one size and a short last one, exactly N full parts, a
  one-part multipart object: verified "get_parts_md5", one HEAD
  ?partNumber=1 and one GET ?partNumber=K per part (ossemu's log);
- parts of unequal sizes: byte-exact, "none", and --verbose says why;
- --corrupt-get: exit 4 and no file (S3 gives no CRC64: only the parts
  catch it);
- a store that ignores ?partNumber (ossemu --no-part-number, as Ceph RGW
  16.2): "none", and --require-verified refuses it (exit 4, no file);
- SSE-KMS: the part ETags are no MD5s, so no probe and "none";
- --checksum none: no probe;
- SIGKILL mid-download, then the same command: the journal's ranges are
  the parts with their MD5s, only the missing parts are fetched
  (?partNumber), the bytes are right, and "get_parts_md5"; a journal
  whose lines lack MD5s gives "none", one with a wrong MD5 exit 4.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import hoisttest  # noqa: E402

hoisttest.hermetic_aws_env()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from hoisttest import HOIST, Ossemu, Tap  # noqa: E402

AK, SK = "partsak", "parts-secret-0123456789"
MIB = 1024 * 1024
BUCKET = "parts"
t = Tap()


def data(n, seed):
    return (hashlib.sha256(b"%d" % seed).digest() * (n // 32 + 1))[:n]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def mp_etag(chunks):
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(c).digest() for c in chunks)).hexdigest(),
                        len(chunks))


def client(srv):
    cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                 retries={"max_attempts": 1})
    return boto3.session.Session(aws_access_key_id=AK, aws_secret_access_key=SK,
                                 region_name="us-east-1").client("s3", endpoint_url=srv.url,
                                                                 config=cfg)


def put_parts(s3, key, chunks, **kw):
    mp = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **kw)
    parts = []
    for n, c in enumerate(chunks, 1):
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=mp["UploadId"], PartNumber=n, Body=c)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    r = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})
    return r["ETag"]


def get(srv, key, dest, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    p = subprocess.run([HOIST, "cp", "s3://%s/%s" % (BUCKET, key), dest, "--endpoint", srv.url,
                        "--region", "us-east-1", "--json", *args], env=env, capture_output=True,
                       timeout=300)
    js = None
    for line in p.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            js = json.loads(line)
    return p, js


def requests(srv):
    s = srv.stats()["requests"]
    return {op: sum(v.values()) for op, v in s.items()}


def check(srv, d, key, body, verified, what, *args):
    """Downloads key into a file; returns the process, JSON and the
    request counts the download made."""
    out = os.path.join(d, "out")
    before = requests(srv)
    p, js = get(srv, key, out, *args)
    after = requests(srv)
    made = {op: after.get(op, 0) - before.get(op, 0) for op in after}
    got = open(out, "rb").read() if os.path.exists(out) else None
    t.ok(p.returncode == 0 and got is not None and sha(got) == sha(body),
         "%s: byte for byte (sha256)" % what, p.stderr.decode(errors="replace")[-500:])
    t.ok(js is not None and js.get("verified") == verified, "%s: verified %s" % (what, verified),
         js and js.get("verified"))
    if os.path.exists(out):
        os.unlink(out)
    return p, js, made


d = tempfile.mkdtemp(prefix="hoist-dlparts-")
try:
    with Ossemu(buckets=[BUCKET], keys=["%s:%s" % (AK, SK)], args=["--verbose"]) as srv:
        s3 = client(srv)

        # Parts of one size, a short last one: 3 x 5 MiB + 7 bytes.
        chunks = [data(5 * MIB, 1), data(5 * MIB, 2), data(5 * MIB, 3), data(7, 4)]
        body = b"".join(chunks)
        etag = put_parts(s3, "boto/even", chunks)
        t.ok(etag == mp_etag(chunks), "boto3's ETag is MD5 of the parts' MD5s -4", etag)
        p, js, made = check(srv, d, "boto/even", body, "get_parts_md5", "boto3, 4 parts")
        t.ok(js and js.get("parts") == 4 and js.get("part_size") == 5 * MIB,
             "boto3, 4 parts: planned as the object's parts (4 of 5 MiB), not --part-size",
             js and (js.get("parts"), js.get("part_size")))
        t.ok(made.get("headobject") == 2 and made.get("getobject") == 4,
             "boto3, 4 parts: one HEAD, one HEAD ?partNumber=1, one GET a part", made)
        # The range size asked for does not change a by-part plan.
        p, js, made = check(srv, d, "boto/even", body, "get_parts_md5",
                            "boto3, 4 parts, --part-size 1M", "--part-size", "1M", "--verbose")
        t.ok(made.get("getobject") == 4 and
             b"4 parts of 5242880 bytes, each fetched by ?partNumber" in p.stderr,
             "--part-size 1M: still 4 GETs, by ?partNumber (--verbose says so)",
             (made, p.stderr[-300:]))
        # To standard output, in order.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
        q = subprocess.run([HOIST, "cp", "s3://%s/boto/even" % BUCKET, "-", "--endpoint", srv.url,
                            "--region", "us-east-1"], env=env, capture_output=True, timeout=300)
        t.ok(q.returncode == 0 and sha(q.stdout) == sha(body), "boto3, 4 parts: to standard output",
             q.stderr.decode(errors="replace")[-300:])

        # Exactly N full parts, and a one-part multipart object.
        full = [data(5 * MIB, 10 + i) for i in range(3)]
        put_parts(s3, "boto/full", full)
        check(srv, d, "boto/full", b"".join(full), "get_parts_md5", "boto3, 3 full parts")
        one = [data(3 * MIB + 1, 20)]
        put_parts(s3, "boto/one", one)
        check(srv, d, "boto/one", one[0], "get_parts_md5", "boto3, a one-part multipart object")

        # Uploaded by hoist itself (S3 dialect, 5 MiB parts).
        src = os.path.join(d, "src")
        mine = data(11 * MIB + 3, 30)
        with open(src, "wb") as f:
            f.write(mine)
        u = subprocess.run([HOIST, "cp", src, "s3://%s/hoist/put" % BUCKET, "--endpoint", srv.url,
                            "--region", "us-east-1", "--part-size", "5M", "--quiet"], env=env,
                           capture_output=True, timeout=300)
        t.ok(u.returncode == 0, "hoist put 11 MiB + 3 in 5 MiB parts", u.stderr[-300:])
        check(srv, d, "hoist/put", mine, "get_parts_md5", "hoist's own multipart object")

        # Parts of unequal sizes: fetched right, checked by nothing.
        uneven = [data(5 * MIB, 40), data(7 * MIB, 41), data(2 * MIB, 42)]
        put_parts(s3, "boto/uneven", uneven)
        p, js, _ = check(srv, d, "boto/uneven", b"".join(uneven), "none",
                         "boto3, parts of 5, 7 and 2 MiB", "--verbose")
        t.ok(b"not verified by parts" in p.stderr, "unequal parts: --verbose says why",
             p.stderr[-600:])

        # SSE-KMS: part ETags are no MD5s: no probe.
        kms = [data(5 * MIB, 50), data(2 * MIB, 51)]
        put_parts(s3, "boto/kms", kms, ServerSideEncryption="aws:kms")
        _, _, made = check(srv, d, "boto/kms", b"".join(kms), "none", "SSE-KMS multipart")
        t.ok(made.get("headobject") == 1, "SSE-KMS multipart: no HEAD ?partNumber", made)
        _, _, made = check(srv, d, "boto/even", body, "none", "--checksum none",
                           "--checksum", "none")
        t.ok(made.get("headobject") == 1, "--checksum none: no HEAD ?partNumber", made)

    # A GET body corrupted by the server: only the parts' MD5s catch it on S3.
    with Ossemu(buckets=[BUCKET], keys=["%s:%s" % (AK, SK)], args=["--corrupt-get", "1"],
                data_dir=os.path.join(d, "data")) as srv:
        s3 = client(srv)
        put_parts(s3, "boto/even", chunks)
        out = os.path.join(d, "bad")
        p, js = get(srv, "boto/even", out, "--retries", "1")
        t.ok(p.returncode == 4 and not os.path.exists(out),
             "--corrupt-get: exit 4, no file", (p.returncode, p.stderr[-400:]))
        t.ok(b"multipart ETag" in p.stderr, "--corrupt-get: the line names the multipart ETag",
             p.stderr[-400:])

    # A store that ignores ?partNumber (Ceph RGW 16.2).
    with Ossemu(buckets=[BUCKET], keys=["%s:%s" % (AK, SK)], args=["--no-part-number"]) as srv:
        s3 = client(srv)
        put_parts(s3, "boto/even", chunks)
        check(srv, d, "boto/even", body, "none", "a store without ?partNumber")
        out = os.path.join(d, "req")
        p, js = get(srv, "boto/even", out, "--require-verified")
        t.ok(p.returncode == 4 and not os.path.exists(out),
             "a store without ?partNumber, --require-verified: exit 4, no file",
             (p.returncode, p.stderr[-400:]))

    # SIGKILL mid-download (4 MB/s a connection, 2 jobs), then the same
    # command: the ranges journaled are parts with their MD5s, the rest come
    # by ?partNumber, and the ETag is checked over both.  The journal then
    # edited: lines without MD5s (as a plain-range run writes them) leave it
    # unverified; a wrong MD5 in a line fails it (exit 4): the journal's
    # MD5s are what the check is made of.
    with Ossemu(buckets=[BUCKET], keys=["%s:%s" % (AK, SK)],
                args=["--conn-bandwidth", "4"]) as srv:
        s3 = client(srv)
        slow = [data(5 * MIB, 60 + i) for i in range(8)] + [data(11, 70)]
        sbody = b"".join(slow)
        put_parts(s3, "boto/slow", slow)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)

        def killed(out, what):
            argv = [HOIST, "cp", "s3://%s/boto/slow" % BUCKET, out, "--endpoint", srv.url,
                    "--region", "us-east-1", "--jobs", "2", "--fixed-jobs", "--quiet"]
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(3.0)
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            jpath = os.path.join(d, "." + os.path.basename(out) + ".hoist-journal")
            lines = [ln for ln in open(jpath).read().splitlines() if ln.startswith("r ")] \
                if os.path.exists(jpath) else []
            t.ok(proc.returncode == -9 and not os.path.exists(out) and 0 < len(lines) < 9 and
                 all(len(ln.split()) == 4 and len(ln.split()[3]) == 32 for ln in lines),
                 "%s: SIGKILL mid-download: no file, the journal lists %d of 9 parts with "
                 "their MD5s" % (what, len(lines)), (proc.returncode, lines))
            return jpath, lines

        def resumed(out, what, nlines):
            before = requests(srv)
            p, js = get(srv, "boto/slow", out, "--jobs", "2", "--fixed-jobs", "--verbose")
            made = {op: requests(srv).get(op, 0) - before.get(op, 0) for op in before}
            t.ok(js and js.get("resumed_parts", 0) >= nlines and
                 made.get("getobject", 99) <= 9 - nlines and js.get("parts") == 9,
                 "%s: the journaled parts kept, only the missing ones fetched" % what,
                 (js and js.get("resumed_parts"), made))
            return p, js

        out = os.path.join(d, "slow")
        jpath, lines = killed(out, "by parts")
        p, js = resumed(out, "by parts, resumed", len(lines))
        got = open(out, "rb").read() if os.path.exists(out) else None
        t.ok(p.returncode == 0 and got is not None and sha(got) == sha(sbody),
             "by parts, resumed: byte for byte (sha256)", p.stderr.decode(errors="replace")[-500:])
        t.ok(b"?partNumber" in p.stderr, "by parts, resumed: the plan is still the parts",
             p.stderr[-400:])
        t.ok(js and js.get("verified") == "get_parts_md5",
             "by parts, resumed: verified get_parts_md5 (the journal kept the parts' MD5s)",
             js and js.get("verified"))

        out = os.path.join(d, "nomd5")
        jpath, lines = killed(out, "journal without MD5s")
        text = open(jpath).read().splitlines()
        with open(jpath, "w") as f:
            f.write("".join((" ".join(ln.split()[:3]) if ln.startswith("r ") else ln) + "\n"
                            for ln in text))
        p, js = resumed(out, "journal without MD5s", len(lines))
        got = open(out, "rb").read() if os.path.exists(out) else None
        t.ok(p.returncode == 0 and got is not None and sha(got) == sha(sbody) and
             js.get("verified") == "none" and b"kept no MD5" in p.stderr,
             "journal without MD5s: byte for byte, verified none, --verbose says why",
             (js and js.get("verified"), p.stderr[-400:]))

        out = os.path.join(d, "badmd5")
        jpath, lines = killed(out, "journal with a wrong MD5")
        text = open(jpath).read().splitlines()
        for i, ln in enumerate(text):
            if ln.startswith("r "):
                f4 = ln.split()
                f4[3] = ("0" if f4[3][0] != "0" else "1") + f4[3][1:]
                text[i] = " ".join(f4)
                break
        with open(jpath, "w") as f:
            f.write("".join(ln + "\n" for ln in text))
        p, js = get(srv, "boto/slow", out, "--jobs", "2", "--fixed-jobs")
        t.ok(p.returncode == 4 and not os.path.exists(out) and b"multipart ETag" in p.stderr,
             "journal with a wrong MD5: exit 4, no file", (p.returncode, p.stderr[-400:]))
finally:
    shutil.rmtree(d, ignore_errors=True)
t.done()
