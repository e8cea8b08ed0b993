#!/usr/bin/env python3
"""ossemu storage modes: --data-dir survives a restart (an upload begun
before it completes after it, objects stay readable, half-written files are
swept), SIGTERM exits 0 and prints the stats, and --discard keeps only sizes
and checksums (GET refused, HEAD works, Content-MD5 still verified, ETag a
stand-in unless --md5-etags).
"""
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import SLOW, Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok, code_of, complete_body, xml_doc, xml_text  # noqa: E402

t = Tap()
KB = 1024
PART = (256 if SLOW else 1024) * KB


def md5u(b):
    return hashlib.md5(b).hexdigest().upper()


def stop(srv):
    """SIGTERM; returns (exit code, last stdout line parsed as JSON or None)."""
    srv.proc.send_signal(signal.SIGTERM)
    out, _ = srv.proc.communicate(timeout=30)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    try:
        return srv.proc.returncode, json.loads(lines[-1])
    except (IndexError, ValueError):
        return srv.proc.returncode, None


data_dir = tempfile.mkdtemp(prefix="ossemu-restart-")
try:
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(PART // 3)]
    obj = os.urandom(300 * KB)
    key = "restart/big object.bin"
    with Ossemu(buckets=["bkt"], keys=["ak:sk"], data_dir=data_dir) as srv:
        c = Client(srv.url)
        t.eq(c.request("PUT", "bkt", "restart/plain", body=obj).status, 200, "PutObject before restart")
        r = c.request("POST", "bkt", key, query={"uploads": None})
        uid = xml_text(r.body, "UploadId")
        for n in (1, 2):
            r = c.request("PUT", "bkt", key, query={"partNumber": str(n), "uploadId": uid},
                          body=parts[n - 1])
            t.eq(r.status, 200, f"part {n} before restart")
        r = c.request("POST", "bkt", "restart/aborted", query={"uploads": None})
        gone = xml_text(r.body, "UploadId")
        t.eq(c.request("DELETE", "bkt", "restart/aborted", query={"uploadId": gone}).status, 204,
             "an upload aborted before restart")
        t.eq(c.request("PUT", "bkt", None).status, 200, "PutBucket of an existing bucket: 200")
        c2 = Client(srv.url)
        t.eq(c2.request("PUT", "newbucket", None).status, 200, "PutBucket creates a bucket")
        t.eq(c2.request("PUT", "newbucket", "k", body=b"in the new bucket").status, 200,
             "PutObject into the new bucket")
        code, stats = stop(srv)
        t.eq(code, 0, "SIGTERM: clean exit 0")
        t.ok(stats and stats["requests"]["uploadpart"]["200"] == 2 and stats["objects"] == 2 and
             stats["uploads"] == 1 and stats["bytes_in"] >= 2 * PART,
             "SIGTERM prints the stats document on stdout", str(stats))
        ok, why = exit_ok(srv)
        t.ok(ok, "ossemu (--data-dir) exits 0 without sanitizer reports", why)
    # A temp file left by a crash mid-upload must be swept at start.
    os.makedirs(os.path.join(data_dir, "tmp"), exist_ok=True)
    with open(os.path.join(data_dir, "tmp", "crash.tmp"), "wb") as f:
        f.write(b"half a part")

    with Ossemu(buckets=["bkt"], keys=["ak:sk"], data_dir=data_dir) as srv:
        c = Client(srv.url)
        t.eq(os.listdir(os.path.join(data_dir, "tmp")), [], "restart sweeps stale temp files")
        r = c.request("GET", "bkt", key, query={"uploadId": uid})
        got = [(int(p.findtext("PartNumber")), p.findtext("ETag"), p.findtext("HashCrc64ecma"))
               for p in xml_doc(r.body).findall("Part")]
        t.eq(got, [(n, f'"{md5u(parts[n - 1])}"', str(crc64(parts[n - 1]))) for n in (1, 2)],
             "after restart ListParts shows the parts with their ETags and CRCs")
        r = c.request("PUT", "bkt", key, query={"partNumber": "3", "uploadId": uid}, body=parts[2])
        t.eq(r.status, 200, "part 3 after restart")
        r = c.request("POST", "bkt", key, query={"uploadId": uid},
                      body=complete_body([(n, md5u(parts[n - 1])) for n in (1, 2, 3)]))
        whole = b"".join(parts)
        t.ok(r.status == 200 and r.header("x-oss-hash-crc64ecma") == str(crc64(whole)),
             "the upload begun before the restart completes after it", f"{r.body!r}")
        t.ok(c.request("GET", "bkt", key).body == whole, "... and reads back byte-exact")
        r = c.request("GET", "bkt", "restart/plain")
        t.ok(r.status == 200 and r.body == obj and r.header("etag") == f'"{md5u(obj)}"' and
             r.header("x-oss-hash-crc64ecma") == str(crc64(obj)),
             "an object stored before the restart is intact (bytes, ETag, CRC)")
        t.eq(code_of(c.request("GET", "bkt", "restart/aborted", query={"uploadId": gone})),
             "NoSuchUpload", "the aborted upload stays gone")
        t.eq(c.request("GET", "newbucket", "k").body, b"in the new bucket",
             "a bucket made by PutBucket survives the restart")
        keep = [os.urandom(102400), os.urandom(10)]
        r = c.request("POST", "bkt", "restart/keep", query={"uploads": None})
        kid = xml_text(r.body, "UploadId")
        for n, d in enumerate(keep, 1):
            c.request("PUT", "bkt", "restart/keep", query={"partNumber": str(n), "uploadId": kid}, body=d)
        r = c.request("POST", "bkt", "restart/keep", query={"uploadId": kid},
                      body=complete_body([(n, md5u(d)) for n, d in enumerate(keep, 1)]))
        t.eq(r.status, 200, "a second multipart object")
        # Overwrite and delete leave no stray data files.
        c.request("PUT", "bkt", "restart/plain", body=b"v2")
        c.request("DELETE", "bkt", key)
        t.eq(c.request("GET", "bkt", "restart/plain").body, b"v2", "overwrite")
        t.eq(c.request("GET", "bkt", key).status, 404, "delete")
        odir = os.path.join(data_dir, "b", "bkt", "o")
        t.eq(len([f for f in os.listdir(odir) if f.endswith(".data")]), 2,
             "one data file per live object (plain, keep) after overwrite and delete")
        t.eq(os.listdir(os.path.join(data_dir, "b", "bkt", "u")), [],
             "no upload directory left after Complete")
        t.eq(c.request("DELETE", "bkt", "restart/plain").status, 204, "DeleteObject -> 204")
        t.eq(c.request("DELETE", "bkt", "restart/plain").status, 204, "DeleteObject again -> 204")
        ok, why = exit_ok(srv)
        t.ok(ok, "ossemu (--data-dir) exits 0 without sanitizer reports", why)
    with Ossemu(buckets=["bkt"], keys=["ak:sk"], data_dir=data_dir) as srv:
        c = Client(srv.url)
        r = c.request("GET", "bkt", "restart/keep", query={"partNumber": "2"})
        t.ok(r.status == 206 and r.body == keep[1] and r.header("x-amz-mp-parts-count") == "2",
             "part boundaries survive a restart (GET ?partNumber=2)", f"{r.status} {r.headers}")
        ok, why = exit_ok(srv)
        t.ok(ok, "ossemu (--data-dir, third start) exits 0 without sanitizer reports", why)
finally:
    shutil.rmtree(data_dir, ignore_errors=True)

# --discard: sizes and checksums only.
with Ossemu(buckets=["bkt"], keys=["ak:sk"], discard=True) as srv:
    c = Client(srv.url)
    d = os.urandom(200 * KB)
    r = c.request("PUT", "bkt", "d/obj", body=d)
    t.ok(r.status == 200 and r.header("x-oss-hash-crc64ecma") == str(crc64(d)) and
         r.header("etag") != f'"{md5u(d)}"' and len(r.header("etag", "")) == 34,
         "--discard PutObject: real CRC64, a 32-hex stand-in ETag (not the MD5)", str(r.headers))
    r = c.request("HEAD", "bkt", "d/obj")
    t.ok(r.status == 200 and r.header("content-length") == str(len(d)) and
         r.header("x-oss-hash-crc64ecma") == str(crc64(d)), "--discard HEAD: size and CRC64")
    r = c.request("GET", "bkt", "d/obj")
    t.ok(r.status == 501 and code_of(r) == "NotImplemented" and b"discard" in r.body,
         "--discard GET: a clear 501 error", f"{r.status} {r.body!r}")
    md5b64 = __import__("base64").b64encode(hashlib.md5(d).digest()).decode()
    r = c.request("PUT", "bkt", "d/md5", body=d, headers={"Content-MD5": md5b64})
    t.ok(r.status == 200 and r.header("etag") == f'"{md5u(d)}"',
         "--discard with Content-MD5: verified, and the ETag is the real MD5")
    r = c.request("PUT", "bkt", "d/md5", body=d + b"x", headers={"Content-MD5": md5b64})
    t.eq(code_of(r), "InvalidDigest", "--discard still refuses a Content-MD5 mismatch")
    r = c.request("POST", "bkt", "d/mp", query={"uploads": None})
    uid = xml_text(r.body, "UploadId")
    ps = [os.urandom(120 * KB), os.urandom(5 * KB)]
    tags = []
    for n, p in enumerate(ps, 1):
        r = c.request("PUT", "bkt", "d/mp", query={"partNumber": str(n), "uploadId": uid}, body=p)
        tags.append(r.header("etag"))
        t.eq(r.header("x-oss-hash-crc64ecma"), str(crc64(p)), f"--discard UploadPart {n}: CRC64")
    r = c.request("POST", "bkt", "d/mp", query={"uploadId": uid}, body=complete_body(list(zip((1, 2), tags))))
    t.ok(r.status == 200 and r.header("x-oss-hash-crc64ecma") == str(crc64(ps[0] + ps[1])),
         "--discard Complete with the stand-in ETags: whole-object CRC64 by combine", f"{r.body!r}")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--discard) exits 0 without sanitizer reports", why)

with Ossemu(buckets=["bkt"], keys=["ak:sk"], discard=True, args=["--md5-etags"]) as srv:
    c = Client(srv.url)
    d = os.urandom(50 * KB)
    r = c.request("PUT", "bkt", "d/obj", body=d)
    t.eq(r.header("etag"), f'"{md5u(d)}"', "--discard --md5-etags: real MD5 ETags")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--md5-etags) exits 0 without sanitizer reports", why)

t.done()
