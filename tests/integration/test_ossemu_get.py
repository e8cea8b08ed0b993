#!/usr/bin/env python3
"""GetObject and HeadObject as OSS and S3 answer them, over raw HTTP:

- Range: OSS's default (an invalid or unsatisfiable range is ignored: 200
  and the whole object), x-oss-range-behavior: standard (clamp, 416 with
  Content-Range: bytes */SIZE), several ranges (OSS: the first), the S3
  dialect (always standard, several ranges ignored), 0-byte objects;
- x-oss-hash-crc64ecma is the whole object's CRC on a ranged GET (checked
  against crcmod, not our code);
- If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since and
  their precedence (412 PreconditionFailed, 304 without a body);
- archived storage classes: GET 403 InvalidObjectState, HEAD fine;
- S3 ?partNumber=N with x-amz-mp-parts-count, and x-amz-checksum-mode:
  ENABLED answering a stored CRC64NVME / CRC32C (full-object or composite,
  each recomputed here independently);
- faults on GET bodies: --fault getobject:fail, reset and stall midway,
  --corrupt-get (exactly one byte differs, so the CRC check catches it) and
  its determinism under --seed.
"""
import base64
import http.client
import os
import socket
import sys
import time

import crcmod
import crcmod.predefined

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import SLOW, Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, code_of, complete_body, error_of, exit_ok, rfc1123, xml_doc, xml_text  # noqa: E402

t = Tap()
KB = 1024
MB = 1024 * 1024
crc64nvme = crcmod.mkCrcFun(0x1AD93D23594C93659, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def b64be(v, n):
    return base64.b64encode(v.to_bytes(n, "big")).decode()


def sums(data):
    return {"x-amz-checksum-crc64nvme": b64be(crc64nvme(data), 8),
            "x-amz-checksum-crc32c": b64be(crc32c(data), 4)}


with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
    oss = Client(srv.url, scheme="v1")
    s3 = Client(srv.url, scheme="s3")
    obj = os.urandom(1000)
    oss.request("PUT", "bkt", "r/obj", body=obj)
    oss.request("PUT", "bkt", "r/empty", body=b"")

    def rng(c, spec, standard=False, key="r/obj"):
        h = {"Range": spec}
        if standard:
            h["x-oss-range-behavior"] = "standard"
        return c.request("GET", "bkt", key, headers=h)

    # ---- OSS default: the documented table for a 1000-byte object ----------
    for spec, want in [("bytes=0-499", (0, 499)), ("bytes=500-", (500, 999)),
                       ("bytes=-500", (500, 999)), ("bytes=0-999", (0, 999)),
                       ("bytes=0-99,200-299", (0, 99))]:
        r = rng(oss, spec)
        a, b = want
        t.ok(r.status == 206 and r.body == obj[a:b + 1] and
             r.header("content-range") == f"bytes {a}-{b}/1000" and
             r.header("content-length") == str(b - a + 1),
             f"OSS {spec}: 206 bytes {a}-{b}/1000", f"{r.status} {r.headers}")
    for spec in ("byte=0-499", "bytes=0-1000", "bytes=1000-2000", "bytes=1000-", "bytes=-2000",
                 "bytes=500-100", "bytes=x-1", "bytes=-0"):
        r = rng(oss, spec)
        t.ok(r.status == 200 and r.body == obj and r.header("content-range") is None,
             f"OSS {spec}: ignored, 200 with the whole object", f"{r.status} {r.headers}")

    # ---- x-oss-range-behavior: standard ---------------------------------------
    r = rng(oss, "bytes=500-2000", True)
    t.ok(r.status == 206 and r.body == obj[500:] and r.header("content-range") == "bytes 500-999/1000",
         "standard bytes=500-2000: the end is clamped, 206 500-999")
    for spec in ("bytes=1000-2000", "bytes=1000-", "bytes=-0"):
        r = rng(oss, spec, True)
        t.ok(r.status == 416 and code_of(r) == "InvalidRange" and
             r.header("content-range") == "bytes */1000" and r.header("x-oss-ec"),
             f"standard {spec}: 416 InvalidRange, Content-Range bytes */1000, x-oss-ec",
             f"{r.status} {r.headers} {r.body!r}")
    r = rng(oss, "bytes=-2000", True)
    t.ok(r.status == 206 and r.body == obj and r.header("content-range") == "bytes 0-999/1000",
         "standard bytes=-2000: a suffix longer than the object selects all of it, 206")
    r = rng(oss, "byte=0-499", True)
    t.ok(r.status == 200 and r.body == obj, "standard byte=0-499 (another unit): ignored, 200")
    for c, name in ((oss, "OSS"), (s3, "S3")):
        r = c.request("GET", "bkt", "r/obj", headers={"Range": "bytes=100-199"})
        t.eq(r.header("x-oss-hash-crc64ecma"), str(crc64(obj)),
             f"{name}: a ranged GET's x-oss-hash-crc64ecma is the whole object's CRC")

    # ---- S3 dialect: RFC 7233 always; one range only ---------------------------
    r = rng(s3, "bytes=0-1000")
    t.ok(r.status == 206 and r.body == obj and r.header("content-range") == "bytes 0-999/1000",
         "S3 bytes=0-1000: clamped, 206")
    r = rng(s3, "bytes=1000-")
    t.ok(r.status == 416 and code_of(r) == "InvalidRange" and r.header("x-oss-ec") is None,
         "S3 bytes=1000-: 416 InvalidRange (no EC in S3)")
    r = rng(s3, "bytes=0-99,200-299")
    t.ok(r.status == 200 and r.body == obj, "S3 several ranges: ignored, 200 with everything")
    r = s3.request("HEAD", "bkt", "r/obj", headers={"Range": "bytes=0-9"})
    t.ok(r.status == 206 and r.header("content-length") == "10" and r.body == b"",
         "S3 HeadObject with Range: 206, the range's Content-Length")
    r = oss.request("HEAD", "bkt", "r/obj", headers={"Range": "bytes=0-9"})
    t.ok(r.status == 200 and r.header("content-length") == "1000", "OSS HeadObject ignores Range")

    # ---- a 0-byte object ------------------------------------------------------------
    r = rng(oss, "bytes=0-", key="r/empty")
    t.ok(r.status == 200 and r.body == b"", "0-byte object, OSS default bytes=0-: 200, empty")
    r = rng(oss, "bytes=0-", True, key="r/empty")
    t.ok(r.status == 416 and r.header("content-range") == "bytes */0",
         "0-byte object, standard: 416, bytes */0")
    r = rng(s3, "bytes=0-", key="r/empty")
    t.eq(r.status, 416, "0-byte object, S3: 416")

    # ---- conditions ----------------------------------------------------------------------
    h = oss.request("HEAD", "bkt", "r/obj")
    etag, lm = h.header("etag"), h.header("last-modified")
    mtime = int(time.mktime(time.strptime(lm, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone)
    past, future = rfc1123(mtime - 3600), rfc1123(mtime + 3600)

    def cond(hdrs, method="GET", c=oss):
        return c.request(method, "bkt", "r/obj", headers=hdrs)

    r = cond({"If-Match": etag})
    t.ok(r.status == 200 and r.body == obj, "If-Match the ETag: 200")
    t.eq(cond({"If-Match": etag.strip('"')}).status, 200, "If-Match without quotes: 200")
    t.eq(cond({"If-Match": f'"nope", {etag}'}).status, 200, "If-Match a list naming it: 200")
    t.eq(cond({"If-Match": "*"}).status, 200, "If-Match *: 200")
    r = cond({"If-Match": '"0123456789ABCDEF0123456789ABCDEF"'})
    t.ok(r.status == 412 and code_of(r) == "PreconditionFailed" and r.header("x-oss-ec"),
         "If-Match another ETag: 412 PreconditionFailed", f"{r.status} {r.body[:300]!r}")
    r = cond({"If-Match": '"0123456789ABCDEF0123456789ABCDEF"', "Range": "bytes=0-9"})
    t.eq(r.status, 412, "If-Match fails before Range is looked at: 412")
    r = cond({"If-None-Match": etag})
    t.ok(r.status == 304 and r.body == b"" and r.header("etag") == etag,
         "If-None-Match the ETag: 304, no body, the ETag", f"{r.status} {r.headers} {r.body[:100]!r}")
    t.eq(cond({"If-None-Match": "*"}).status, 304, "If-None-Match *: 304")
    t.eq(cond({"If-None-Match": '"other"'}).status, 200, "If-None-Match another: 200")
    t.eq(cond({"If-Modified-Since": future}).status, 304, "If-Modified-Since after Last-Modified: 304")
    t.eq(cond({"If-Modified-Since": lm}).status, 304, "If-Modified-Since = Last-Modified: 304")
    t.eq(cond({"If-Modified-Since": past}).status, 200, "If-Modified-Since before: 200")
    t.eq(cond({"If-Modified-Since": "yesterday"}).status, 200, "If-Modified-Since unparseable: ignored, 200")
    r = cond({"If-Unmodified-Since": past})
    t.ok(r.status == 412 and code_of(r) == "PreconditionFailed", "If-Unmodified-Since before: 412")
    t.eq(cond({"If-Unmodified-Since": future}).status, 200, "If-Unmodified-Since after: 200")
    t.eq(cond({"If-Match": etag, "If-Unmodified-Since": past}).status, 200,
         "If-Match true wins over If-Unmodified-Since false (RFC 7232 order): 200")
    t.eq(cond({"If-None-Match": '"other"', "If-Modified-Since": future}).status, 200,
         "If-None-Match false wins over If-Modified-Since (RFC 7232 order): 200")
    r = cond({"If-Match": '"other"'}, method="HEAD")
    t.ok(r.status == 412 and error_of(r).get("Code") == "PreconditionFailed",
         "HEAD If-Match another: 412 with the document in x-oss-err")
    r = cond({"If-None-Match": etag}, method="HEAD")
    t.ok(r.status == 304, "HEAD If-None-Match the ETag: 304")
    r = cond({"If-Match": '"other"'}, c=s3)
    t.ok(r.status == 412 and code_of(r) == "PreconditionFailed", "S3 If-Match another: 412")

    # ---- archived storage classes ---------------------------------------------------------
    data = os.urandom(3000)
    for c, cls, readable in ((oss, "Archive", False), (oss, "ColdArchive", False),
                             (oss, "DeepColdArchive", False), (oss, "IA", True),
                             (s3, "GLACIER", False), (s3, "DEEP_ARCHIVE", False),
                             (s3, "GLACIER_IR", True), (s3, "STANDARD_IA", True)):
        hdr = "x-amz-storage-class" if c is s3 else "x-oss-storage-class"
        key = f"cls/{cls}"
        r = c.request("PUT", "bkt", key, body=data, headers={hdr: cls})
        t.eq(r.status, 200, f"PutObject {hdr}: {cls}")
        r = c.request("GET", "bkt", key)
        if readable:
            t.ok(r.status == 200 and r.body == data, f"{cls}: GET 200")
        else:
            e = error_of(r)
            t.ok(r.status == 403 and e.get("Code") == "InvalidObjectState" and
                 (c is s3 or r.header("x-oss-ec")) and (c is oss or e.get("StorageClass") == cls),
                 f"{cls}: GET 403 InvalidObjectState", f"{r.status} {r.body[:300]!r}")
        r = c.request("HEAD", "bkt", key)
        t.ok(r.status == 200 and r.header(hdr) == cls and r.header("content-length") == "3000",
             f"{cls}: HEAD 200 with {hdr}: {cls}", str(r.headers))
    r = oss.request("HEAD", "bkt", "cls/GLACIER")
    t.eq(r.header("x-oss-storage-class"), "Archive", "an S3 GLACIER object is Archive over OSS")
    t.eq(s3.request("HEAD", "bkt", "cls/Archive").header("x-amz-storage-class"), "GLACIER",
         "an OSS Archive object is GLACIER over S3")
    t.eq(s3.request("HEAD", "bkt", "r/obj").header("x-amz-storage-class"), None,
         "S3 HEAD of a STANDARD object names no class (as AWS)")
    t.eq(oss.request("HEAD", "bkt", "r/obj").header("x-oss-storage-class"), "Standard",
         "OSS HEAD names Standard")
    r = oss.request("PUT", "bkt", "cls/bad", body=b"x", headers={"x-oss-storage-class": "Frozen"})
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "OSS storage class Frozen: 400 InvalidArgument")
    r = s3.request("PUT", "bkt", "cls/bad", body=b"x", headers={"x-amz-storage-class": "Standard"})
    t.ok(r.status == 400 and code_of(r) == "InvalidStorageClass",
         "S3 storage class 'Standard' (S3 names are upper case): 400 InvalidStorageClass")

    # ---- S3 ?partNumber= and x-amz-checksum-mode ------------------------------------------
    parts = [os.urandom(5 * MB), os.urandom(5 * MB), os.urandom(1234)]
    whole = b"".join(parts)
    uid = xml_text(s3.request("POST", "bkt", "mp/obj", query={"uploads": None},
                              headers={"x-amz-checksum-algorithm": "CRC64NVME",
                                       "x-amz-checksum-type": "FULL_OBJECT"}).body, "UploadId")
    etags = []
    for n, d in enumerate(parts, 1):
        r = s3.request("PUT", "bkt", "mp/obj", query={"partNumber": str(n), "uploadId": uid}, body=d,
                       headers={"x-amz-checksum-crc64nvme": sums(d)["x-amz-checksum-crc64nvme"]})
        etags.append((n, r.header("etag")))
    r = s3.request("POST", "bkt", "mp/obj", query={"uploadId": uid}, body=complete_body(etags))
    want = b64be(crc64nvme(whole), 8)
    t.ok(r.status == 200 and xml_text(r.body, "ChecksumCRC64NVME") == want and
         xml_text(r.body, "ChecksumType") == "FULL_OBJECT",
         "S3 Complete of a CRC64NVME upload: ChecksumCRC64NVME of the whole object", f"{r.body!r}")
    for n, d in enumerate(parts, 1):
        r = s3.request("GET", "bkt", "mp/obj", query={"partNumber": str(n)})
        off = sum(len(p) for p in parts[:n - 1])
        t.ok(r.status == 206 and r.body == d and r.header("x-amz-mp-parts-count") == "3" and
             r.header("content-range") == f"bytes {off}-{off + len(d) - 1}/{len(whole)}",
             f"GET ?partNumber={n}: 206, that part, x-amz-mp-parts-count 3")
    r = s3.request("HEAD", "bkt", "mp/obj", query={"partNumber": "1"})
    t.ok(r.status == 206 and r.header("content-length") == str(5 * MB) and
         r.header("x-amz-mp-parts-count") == "3", "HEAD ?partNumber=1: the part's length, parts count")
    r = s3.request("GET", "bkt", "mp/obj", query={"partNumber": "4"})
    t.ok(r.status == 416 and code_of(r) == "InvalidPartNumber", "?partNumber=4 of 3: 416 InvalidPartNumber")
    r = s3.request("GET", "bkt", "mp/obj", query={"partNumber": "1"}, headers={"Range": "bytes=0-1"})
    t.eq(r.status, 400, "?partNumber with a Range: 400")
    r = s3.request("HEAD", "bkt", "r/obj", query={"partNumber": "1"})
    t.ok(r.status == 200 and r.header("x-amz-mp-parts-count") is None,
         "HEAD ?partNumber=1 of a single-part object: 200, no parts count")
    r = s3.request("GET", "bkt", "mp/obj", headers={"x-amz-checksum-mode": "ENABLED"})
    t.ok(r.body == whole and r.header("x-amz-checksum-crc64nvme") == want and
         r.header("x-amz-checksum-type") == "FULL_OBJECT",
         "GET with x-amz-checksum-mode: ENABLED: the stored full-object CRC64NVME")
    r = s3.request("GET", "bkt", "mp/obj")
    t.eq(r.header("x-amz-checksum-crc64nvme"), None, "without checksum mode: no checksum header")
    r = s3.request("GET", "bkt", "mp/obj", headers={"x-amz-checksum-mode": "ENABLED",
                                                    "Range": "bytes=0-99"})
    t.eq(r.header("x-amz-checksum-crc64nvme"), None, "a ranged GET has no checksum of its own")

    # CRC32C, composite (S3's default type for it): CRC32C of the part CRCs, "-N".
    uid = xml_text(s3.request("POST", "bkt", "mp/c32", query={"uploads": None},
                              headers={"x-amz-checksum-algorithm": "CRC32C"}).body, "UploadId")
    etags = []
    for n, d in enumerate(parts, 1):
        r = s3.request("PUT", "bkt", "mp/c32", query={"partNumber": str(n), "uploadId": uid}, body=d,
                       headers={"x-amz-checksum-crc32c": sums(d)["x-amz-checksum-crc32c"]})
        etags.append((n, r.header("etag")))
    s3.request("POST", "bkt", "mp/c32", query={"uploadId": uid}, body=complete_body(etags))
    comp = b64be(crc32c(b"".join(crc32c(d).to_bytes(4, "big") for d in parts)), 4) + "-3"
    r = s3.request("HEAD", "bkt", "mp/c32", headers={"x-amz-checksum-mode": "ENABLED"})
    t.ok(r.header("x-amz-checksum-crc32c") == comp and r.header("x-amz-checksum-type") == "COMPOSITE",
         "CRC32C upload: the composite checksum, CRC32C of the parts' CRCs + '-3'",
         f"{r.header('x-amz-checksum-crc32c')} vs {comp}")
    small = os.urandom(777)
    r = s3.request("PUT", "bkt", "put/sum", body=small, headers=sums(small))
    r = s3.request("HEAD", "bkt", "put/sum", headers={"x-amz-checksum-mode": "ENABLED"})
    t.ok(r.header("x-amz-checksum-crc32c") == sums(small)["x-amz-checksum-crc32c"] or
         r.header("x-amz-checksum-crc64nvme") == sums(small)["x-amz-checksum-crc64nvme"],
         "PutObject with checksums: HEAD in checksum mode returns one stored checksum",
         str(r.headers))
    r = s3.request("POST", "bkt", "mp/bad", query={"uploads": None},
                   headers={"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"})
    t.eq(r.status, 400, "CRC64NVME COMPOSITE: 400 (CRC64NVME is full-object only)")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu exits 0 without sanitizer reports", why)


# ---- faults on GET bodies ---------------------------------------------------------------------
def raw_get(srv, key, headers=None):
    """(status, body, complete): a GET that tolerates a cut-off body."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", f"/bkt/{key}", headers=headers or {})
    r = c.getresponse()
    try:
        body, complete = r.read(), True
    except http.client.IncompleteRead as e:
        body, complete = e.partial, False
    except (ConnectionError, socket.timeout):
        body, complete = b"", False
    status, crc = r.status, r.getheader("x-oss-hash-crc64ecma")
    c.close()
    return status, body, complete, crc


data = os.urandom(3 * MB + 5)
with Ossemu(args=["--anonymous", "--fault", "getobject:fail=1"]) as srv:
    Client(srv.url, scheme="anon").request("PUT", "bkt", "f/obj", body=data)
    st, body, _, _ = raw_get(srv, "f/obj")
    t.ok(st in (500, 503), f"--fault getobject:fail=1: GET answers {st}")
    st2 = Client(srv.url, scheme="anon").request("HEAD", "bkt", "f/obj").status
    t.eq(st2, 200, "... a fault scoped to getobject leaves HEAD alone")
    t.ok(exit_ok(srv)[0], "ossemu (getobject:fail) exits 0")

with Ossemu(args=["--anonymous", "--fault", "getobject:reset=1"]) as srv:
    Client(srv.url, scheme="anon").request("PUT", "bkt", "f/obj", body=data)
    Client(srv.url, scheme="anon").request("PUT", "bkt", "f/empty", body=b"")
    st, body, complete, _ = raw_get(srv, "f/obj")
    t.ok(st == 200 and not complete and 0 < len(body) < len(data) and data.startswith(body),
         f"--fault getobject:reset=1: the body is cut off midway ({len(body)} of {len(data)} bytes)")
    try:
        raw_get(srv, "f/empty")
        dropped = False
    except (ConnectionError, http.client.HTTPException, socket.timeout):
        dropped = True
    t.ok(dropped, "reset on a GET with no body: the connection drops before the answer")
    s = srv.stats()
    t.ok(s["faults"]["reset"] == 2 and s["requests"]["getobject"].get("reset") == 2,
         "stats: both resets counted, as 'reset' GETs", str(s))
    t.ok(exit_ok(srv)[0], "ossemu (getobject:reset) exits 0")

with Ossemu(args=["--anonymous", "--fault", "getobject:stall=1:0.8"]) as srv:
    Client(srv.url, scheme="anon").request("PUT", "bkt", "f/obj", body=data)
    t0 = time.time()
    st, body, complete, crc = raw_get(srv, "f/obj")
    dt = time.time() - t0
    t.ok(st == 200 and complete and body == data and dt >= 0.75 and crc == str(crc64(body)),
         f"--fault getobject:stall=1:0.8: the body stalls midway ({dt:.2f} s) and comes whole")
    t.ok(exit_ok(srv)[0], "ossemu (getobject:stall) exits 0")

with Ossemu(args=["--anonymous", "--corrupt-get", "1"]) as srv:
    c = Client(srv.url, scheme="anon")
    c.request("PUT", "bkt", "f/obj", body=data)
    st, body, complete, crc = raw_get(srv, "f/obj")
    diff = [i for i in range(len(data)) if body[i] != data[i]] if len(body) == len(data) else None
    t.ok(st == 200 and complete and diff is not None and len(diff) == 1 and
         body[diff[0]] == data[diff[0]] ^ 0xFF,
         f"--corrupt-get 1: exactly one byte flipped (at {diff})")
    t.ok(crc == str(crc64(data)) and crc64(body) != crc64(data),
         "... the header keeps the stored CRC, so the client's own CRC64 check catches it")
    st, part, complete, _ = raw_get(srv, "f/obj", {"Range": "bytes=1000-1999"})
    t.ok(st == 206 and len(part) == 1000 and
         sum(1 for i in range(1000) if part[i] != data[1000 + i]) == 1,
         "--corrupt-get on a ranged GET: one byte of the range flipped")
    r = c.request("HEAD", "bkt", "f/obj")
    t.eq(r.status, 200, "HEAD is not corrupted (no body)")
    t.ok(srv.stats()["faults"]["corrupt_get"] == 2, "stats: corrupt_get 2")
    t.ok(exit_ok(srv)[0], "ossemu (--corrupt-get) exits 0")

# Deterministic: the same --seed and the same GETs corrupt the same ones at the same bytes.
patterns = []
for run in range(2):
    with Ossemu(args=["--anonymous", "--corrupt-get", "0.5", "--seed", "7"]) as srv:
        c = Client(srv.url, scheme="anon")
        small = bytes(range(256)) * 64
        for i in range(8):
            c.request("PUT", "bkt", f"d/{i}", body=small)
        pat = []
        for i in range(8):
            b = c.request("GET", "bkt", f"d/{i}").body
            pat.append(tuple(j for j in range(len(small)) if b[j] != small[j]))
        patterns.append(pat)
t.ok(patterns[0] == patterns[1] and 0 < sum(1 for p in patterns[0] if p) < 8,
     "--corrupt-get 0.5 --seed 7: the same GETs corrupted at the same bytes in two runs",
     str(patterns))
t.done()
