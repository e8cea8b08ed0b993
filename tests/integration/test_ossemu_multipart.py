#!/usr/bin/env python3
"""ossemu multipart upload, per docs/oss-protocol.md §2-§6, over raw HTTP.

The happy path checks every byte read back and every ETag and CRC64 against
values computed here (hashlib MD5, crcmod CRC-64/XZ); then every Complete
error code, complete-all, forbid-overwrite, Content-MD5, ListParts paging,
ListMultipartUploads markers, encoding-type=url, Abort, and the S3 dialect's
differences (lower-case ETags, BadDigest, 5 MiB minimum, its final-ETag
formula, x-amz-checksum-* verification).
"""
import base64
import hashlib
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import crcmod.predefined  # noqa: E402
from hoisttest import SLOW, Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok, code_of, complete_body, error_of, xml_doc, xml_text  # noqa: E402

t = Tap()
KB = 1024
MIB = 1024 * 1024
crc32c = crcmod.predefined.mkPredefinedCrcFun("crc-32c")
# CRC-64/NVME: reflected 0xAD93D23594C93659, init and xorout all ones.
crc64nvme = crcmod.mkCrcFun(0x1AD93D23594C93659, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def b64(raw):
    return base64.b64encode(raw).decode()


def md5u(b):
    return hashlib.md5(b).hexdigest().upper()


def oss_final_etag(parts):
    """§4.3: MD5 over the concatenated upper-case hex part ETags."""
    cat = "".join(md5u(p) for p in parts).encode()
    return f"{hashlib.md5(cat).hexdigest().upper()}-{len(parts)}"


def s3_final_etag(parts):
    cat = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(cat).hexdigest()}-{len(parts)}"


def initiate(c, key, query=None, headers=None):
    q = [("uploads", None)] + list(query or [])
    r = c.request("POST", "bkt", key, query=q, headers=headers)
    assert r.status == 200, r
    return xml_text(r.body, "UploadId")


def part(c, key, uid, n, data, headers=None):
    return c.request("PUT", "bkt", key, query={"partNumber": str(n), "uploadId": uid},
                     body=data, headers=headers)


def complete(c, key, uid, body, headers=None, query=None):
    q = [("uploadId", uid)] + list(query or [])
    return c.request("POST", "bkt", key, query=q, body=body, headers=headers)


def list_parts(c, key, uid, **kw):
    q = {"uploadId": uid}
    q.update({k.replace("_", "-"): str(v) for k, v in kw.items()})
    return c.request("GET", "bkt", key, query=q)


with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
    c = Client(srv.url, scheme="v1")

    # ---- happy path --------------------------------------------------------
    key = "mp/happy.bin"
    p1, p2, p3 = os.urandom(150 * KB), os.urandom(102400), os.urandom(777)
    uid = initiate(c, key)
    t.ok(uid and len(uid) == 32, "Initiate returns a 32-character upload id", uid)
    # Upload out of order, and part 2 twice (the second overwrites).
    results = {}
    for n, data in ((3, p3), (1, p1), (2, os.urandom(102400)), (2, p2)):
        r = part(c, key, uid, n, data)
        results[n] = r
        t.ok(r.status == 200 and r.header("etag") == f'"{md5u(data)}"' and
             r.header("x-oss-hash-crc64ecma") == str(crc64(data)) and
             r.header("content-md5") == base64.b64encode(
                 hashlib.md5(data).digest()).decode(),
             f"UploadPart {n} ({len(data)} B): quoted upper-case MD5 ETag, CRC64, Content-MD5",
             f"{r.status} {r.headers}")
    r = list_parts(c, key, uid)
    doc = xml_doc(r.body)
    got = [(int(p.findtext("PartNumber")), p.findtext("ETag"), int(p.findtext("Size")),
            p.findtext("HashCrc64ecma")) for p in doc.findall("Part")]
    want = [(n, f'"{md5u(d)}"', len(d), str(crc64(d))) for n, d in ((1, p1), (2, p2), (3, p3))]
    t.eq(got, want, "ListParts: numbers ascending, ETag/Size/HashCrc64ecma of the last upload")
    t.ok(all(p.findtext("LastModified", "").endswith(".000Z") for p in doc.findall("Part")),
         "ListParts: LastModified in ISO-8601 with milliseconds")
    r = complete(c, key, uid, complete_body([(1, md5u(p1)), (2, md5u(p2)), (3, md5u(p3))]))
    whole = p1 + p2 + p3
    t.ok(r.status == 200 and xml_text(r.body, "ETag") == f'"{oss_final_etag([p1, p2, p3])}"' and
         r.header("x-oss-hash-crc64ecma") == str(crc64(whole)) and
         xml_text(r.body, "Key") == key and xml_text(r.body, "Bucket") == "bkt",
         "Complete (ETags escaped as &#34;): §4.3 final ETag, whole-object CRC64",
         f"{r.status} {r.headers} {r.body!r}")
    r = c.request("GET", "bkt", key)
    t.ok(r.status == 200 and r.body == whole, "GetObject returns the assembled bytes")
    r = c.request("HEAD", "bkt", key)
    t.ok(r.status == 200 and r.header("content-length") == str(len(whole)) and
         r.header("etag") == f'"{oss_final_etag([p1, p2, p3])}"' and
         r.header("x-oss-hash-crc64ecma") == str(crc64(whole)) and r.header("last-modified")
         and r.header("x-oss-object-type") == "Multipart",
         "HeadObject: Content-Length, ETag, CRC64, Last-Modified", str(r.headers))
    r = c.request("GET", "bkt", key, headers={"Range": "bytes=150000-160000"})
    t.ok(r.status == 206 and r.body == whole[150000:160001] and
         r.header("content-range") == f"bytes 150000-160000/{len(whole)}",
         "Range GET: 206, the slice, Content-Range")
    r = c.request("GET", "bkt", key, headers={"Range": "bytes=-100"})
    t.ok(r.status == 206 and r.body == whole[-100:], "suffix Range GET (bytes=-100)")
    r = c.request("GET", "bkt", key, headers={"Range": f"bytes={len(whole)}-"})
    t.ok(r.status == 200 and r.body == whole, "OSS: a Range past the end is ignored -> 200, everything")
    r = c.request("GET", "bkt", key, headers={"Range": f"bytes={len(whole)}-",
                                              "x-oss-range-behavior": "standard"})
    t.ok(r.status == 416 and code_of(r) == "InvalidRange",
         "x-oss-range-behavior: standard: Range past the end -> 416 InvalidRange")
    t.eq(code_of(list_parts(c, key, uid)), "NoSuchUpload", "after Complete the upload id is gone")
    r = c.request("DELETE", "bkt", key, query={"uploadId": uid})
    t.ok(r.status == 404 and code_of(r) == "NoSuchUpload", "Abort after Complete -> 404 NoSuchUpload")

    # Quote forms the ETag may come in.
    for esc in ("&quot;", '"', ""):
        k = f"mp/quotes{len(esc)}"
        u = initiate(c, k)
        part(c, k, u, 1, p3)
        r = complete(c, k, u, complete_body([(1, md5u(p3).lower())], escape=esc))
        t.eq(r.status, 200, f"Complete accepts ETag written as {esc or 'bare'} (lower case)")

    # ---- Complete errors ----------------------------------------------------
    key = "mp/errors"
    uid = initiate(c, key)
    small = os.urandom(1000)
    for n, d in ((1, p1), (2, small), (3, p3)):
        part(c, key, uid, n, d)
    cases = [
        ("parts out of order", complete_body([(2, md5u(small)), (1, md5u(p1))]),
         400, "InvalidPartOrder", "0042-00000209"),
        ("a duplicated part number", complete_body([(1, md5u(p1)), (1, md5u(p1))]),
         400, "InvalidPartOrder", "0042-00000209"),
        ("a part never uploaded", complete_body([(1, md5u(p1)), (7, md5u(p1))]),
         400, "InvalidPart", None),
        ("a wrong ETag", complete_body([(1, md5u(p3))]), 400, "InvalidPart", None),
        ("a non-last part under 100 KB", complete_body([(2, md5u(small)), (3, md5u(p3))]),
         400, "EntityTooSmall", "0042-00000213"),
        ("garbage", b"<CompleteMultipartUpload><Part>", 400, "MalformedXML", "0042-00000205"),
        ("an empty body", b"", 400, "MalformedXML", "0042-00000205"),
        ("a part without ETag",
         b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
         400, "MalformedXML", "0042-00000205"),
        ("a DOCTYPE (entity expansion)",
         b'<!DOCTYPE x [<!ENTITY a "aaaa">]><CompleteMultipartUpload><Part><PartNumber>1'
         b'</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>',
         400, "MalformedXML", None),
    ]
    for name, body, status, code, ec in cases:
        r = complete(c, key, uid, body)
        e = error_of(r)
        t.ok(r.status == status and e.get("Code") == code and (ec is None or e.get("EC") == ec),
             f"Complete with {name} -> {status} {code}" + (f" {ec}" if ec else ""),
             f"{r.status} {r.body!r}")
    r = complete(c, key, "0" * 32, complete_body([(1, md5u(p1))]))
    t.ok(r.status == 404 and code_of(r) == "NoSuchUpload", "Complete of an unknown id -> NoSuchUpload")
    r = complete(c, "mp/other-key", uid, complete_body([(1, md5u(p1))]))
    t.ok(r.status == 404 and code_of(r) == "NoSuchUpload",
         "Complete of an id under another key -> NoSuchUpload")
    r = complete(c, key, uid, complete_body([(1, md5u(p1))]), headers={"x-oss-complete-all": "yes"})
    e = error_of(r)
    t.ok(r.status == 400 and e.get("Code") == "InvalidArgument" and
         e.get("EC") == "0042-00000216" and e.get("ArgumentName") == "x-oss-complete-all",
         "complete-all with a body -> 400 InvalidArgument 0042-00000216", f"{r.body!r}")
    t.eq(len(xml_doc(list_parts(c, key, uid).body).findall("Part")), 3,
         "failed Completes leave the upload and its parts intact")
    # Gaps are allowed: 1 and 3 only.
    r = complete(c, key, uid, complete_body([(1, md5u(p1)), (3, md5u(p3))]))
    t.ok(r.status == 200 and xml_text(r.body, "ETag") == f'"{oss_final_etag([p1, p3])}"' and
         r.header("x-oss-hash-crc64ecma") == str(crc64(p1 + p3)),
         "Complete with a gap (1, 3) uses the listed parts")
    t.eq(c.request("GET", "bkt", key).body, p1 + p3, "... and the object is parts 1 and 3")

    # ---- complete-all -------------------------------------------------------
    key = "mp/all"
    uid = initiate(c, key)
    for n, d in ((2, p2), (1, p1), (5, p3)):
        part(c, key, uid, n, d)
    r = complete(c, key, uid, b"", headers={"x-oss-complete-all": "yes"})
    t.ok(r.status == 200 and xml_text(r.body, "ETag") == f'"{oss_final_etag([p1, p2, p3])}"' and
         r.header("x-oss-hash-crc64ecma") == str(crc64(p1 + p2 + p3)),
         "x-oss-complete-all: yes assembles every uploaded part, sorted", f"{r.body!r}")
    r = c.request("GET", "bkt", key)
    t.ok(r.body == p1 + p2 + p3 and len(r.body) > 0, "complete-all object has all the bytes")

    # ---- forbid-overwrite ---------------------------------------------------
    uid = initiate(c, key)
    part(c, key, uid, 1, p3)
    r = complete(c, key, uid, complete_body([(1, md5u(p3))]),
                 headers={"x-oss-forbid-overwrite": "true"})
    e = error_of(r)
    t.ok(r.status == 409 and e.get("Code") == "FileAlreadyExists" and e.get("EC") == "0042-00000214",
         "forbid-overwrite on an existing key -> 409 FileAlreadyExists", f"{r.body!r}")
    t.eq(c.request("GET", "bkt", key).body, p1 + p2 + p3, "... and the old object is untouched")
    r = complete(c, key, uid, complete_body([(1, md5u(p3))]),
                 headers={"x-oss-forbid-overwrite": "false"})
    t.eq(r.status, 200, "the same upload completes without the header (upload kept after 409)")
    r = c.request("PUT", "bkt", key, body=b"x", headers={"x-oss-forbid-overwrite": "true"})
    t.ok(r.status == 409 and code_of(r) == "FileAlreadyExists",
         "PutObject with forbid-overwrite on an existing key -> 409")

    # ---- UploadPart errors ----------------------------------------------------
    key = "mp/parts"
    uid = initiate(c, key)
    for bad in ("0", "10001", "abc", "-1"):
        r = c.request("PUT", "bkt", key, query={"partNumber": bad, "uploadId": uid}, body=b"x")
        t.ok(r.status == 400 and code_of(r) == "InvalidArgument" and
             error_of(r).get("ArgumentName") == "partNumber",
             f"partNumber={bad} -> 400 InvalidArgument", f"{r.status} {r.body!r}")
    r = part(c, key, uid, 10000, b"last allowed")
    t.eq(r.status, 200, "partNumber=10000 accepted")
    r = part(c, key, "F" * 32, 1, b"x")
    t.ok(r.status == 404 and code_of(r) == "NoSuchUpload" and
         error_of(r).get("EC") == "0042-00000104", "UploadPart to an unknown id -> 404 0042-00000104")
    good_md5 = base64.b64encode(hashlib.md5(p3).digest()).decode()
    r = part(c, key, uid, 1, p3, headers={"Content-MD5": good_md5})
    t.eq(r.status, 200, "UploadPart with a correct Content-MD5")
    r = part(c, key, uid, 2, p3 + b"!", headers={"Content-MD5": good_md5})
    e = error_of(r)
    t.ok(r.status == 400 and e.get("Code") == "InvalidDigest" and e.get("EC") == "0017-00000503",
         "Content-MD5 mismatch -> 400 InvalidDigest 0017-00000503", f"{r.status} {r.body!r}")
    r = part(c, key, uid, 2, p3, headers={"Content-MD5": "notbase64"})
    t.ok(r.status == 400 and code_of(r) == "InvalidDigest", "malformed Content-MD5 -> InvalidDigest")
    r = c.request("PUT", "bkt", "mp/put-md5", body=p3 + b"!", headers={"Content-MD5": good_md5})
    t.eq(code_of(r), "InvalidDigest", "PutObject Content-MD5 mismatch -> InvalidDigest")
    t.eq(c.request("HEAD", "bkt", "mp/put-md5").status, 404, "... and nothing stored")
    nums = [int(p.findtext("PartNumber")) for p in xml_doc(list_parts(c, key, uid).body).findall("Part")]
    t.eq(nums, [1, 10000], "rejected parts were not stored")
    r = c.request("DELETE", "bkt", key, query={"uploadId": uid})
    t.eq(r.status, 204, "Abort -> 204")
    r = c.request("DELETE", "bkt", key, query={"uploadId": uid})
    e = error_of(r)
    t.ok(r.status == 404 and e.get("Code") == "NoSuchUpload" and e.get("EC") == "0042-00000002"
         and r.header("x-oss-ec") == "0042-00000002",
         "second Abort -> 404 NoSuchUpload 0042-00000002 (document and x-oss-ec)")
    t.eq(part(c, key, uid, 3, b"x").status, 404, "UploadPart after Abort -> 404")

    # ---- ListParts paging ---------------------------------------------------------
    key = "mp/paging"
    uid = initiate(c, key)
    datas = {n: os.urandom(100 + n) for n in (1, 2, 3, 5, 8, 9, 12)}
    for n, d in datas.items():
        part(c, key, uid, n, d)
    seen, marker, pages = [], 0, 0
    while True:
        r = list_parts(c, key, uid, max_parts=3, part_number_marker=marker)
        doc = xml_doc(r.body)
        nums = [int(p.findtext("PartNumber")) for p in doc.findall("Part")]
        seen += nums
        pages += 1
        trunc = doc.findtext("IsTruncated") == "true"
        t.ok(doc.findtext("MaxParts") == "3" and doc.findtext("PartNumberMarker") == str(marker) and
             doc.findtext("NextPartNumberMarker") == str(nums[-1] if nums else marker),
             f"ListParts page {pages}: MaxParts, PartNumberMarker, NextPartNumberMarker")
        if not trunc:
            break
        marker = int(doc.findtext("NextPartNumberMarker"))
    t.eq((seen, pages), (sorted(datas), 3), "ListParts paging by 3 visits every part once")
    r = list_parts(c, key, uid, part_number_marker=12)
    t.ok(xml_doc(r.body).findall("Part") == [] and xml_text(r.body, "IsTruncated") == "false",
         "ListParts past the last part: empty, not truncated")

    # ---- ListMultipartUploads ------------------------------------------------------
    ids = {}
    for k in ("lu/a", "lu/b", "lu/b", "lu/c/d", "other/x"):
        ids.setdefault(k, []).append(initiate(c, k))
    r = c.request("GET", "bkt", None, query={"uploads": None, "prefix": "lu/"})
    got = [(u.findtext("Key"), u.findtext("UploadId")) for u in xml_doc(r.body).findall("Upload")]
    want = sorted((k, i) for k, v in ids.items() if k.startswith("lu/") for i in v)
    t.eq(got, want, "ListMultipartUploads prefix=lu/: every upload, sorted by key then id")
    r = c.request("GET", "bkt", None, query={"uploads": None, "prefix": "lu/", "delimiter": "/",
                                             "max-uploads": "10"})
    doc = xml_doc(r.body)
    t.eq([p.findtext("Prefix") for p in doc.findall("CommonPrefixes")], ["lu/c/"],
         "delimiter=/ folds lu/c/d into CommonPrefixes lu/c/")
    seen, km = [], ""
    while True:  # max-uploads 1 with a delimiter: a page may end on a prefix
        q = {"uploads": None, "prefix": "lu/", "delimiter": "/", "max-uploads": "1"}
        if km:
            q.update({"key-marker": km, "upload-id-marker": uim})
        doc = xml_doc(c.request("GET", "bkt", None, query=q).body)
        seen += [u.findtext("Key") for u in doc.findall("Upload")]
        seen += [p.findtext("Prefix") for p in doc.findall("CommonPrefixes")]
        if doc.findtext("IsTruncated") != "true" or len(seen) > 10:
            break
        km, uim = doc.findtext("NextKeyMarker"), doc.findtext("NextUploadIdMarker")
    t.eq(seen, ["lu/a", "lu/b", "lu/b", "lu/c/"],
         "ListMultipartUploads paging by 1 with a delimiter visits the prefix once")
    page, km, uim, n = [], "", "", 0
    while True:
        q = {"uploads": None, "prefix": "lu/", "max-uploads": "2"}
        if km:
            q.update({"key-marker": km, "upload-id-marker": uim})
        doc = xml_doc(c.request("GET", "bkt", None, query=q).body)
        page += [(u.findtext("Key"), u.findtext("UploadId")) for u in doc.findall("Upload")]
        n += 1
        if doc.findtext("IsTruncated") != "true":
            break
        km, uim = doc.findtext("NextKeyMarker"), doc.findtext("NextUploadIdMarker")
    t.eq(page, want, "ListMultipartUploads paging by 2 with key/upload-id markers")

    # ---- encoding-type=url ---------------------------------------------------------
    weird = "demo/gp-\f\n\v + &<>.txt"
    uid = initiate(c, weird, query=[("encoding-type", "url")])
    r = c.request("POST", "bkt", weird, query=[("uploads", None), ("encoding-type", "url")])
    t.ok(xml_text(r.body, "EncodingType") == "url" and
         xml_text(r.body, "Key") == "demo%2Fgp-%0C%0A%0B%20%2B%20%26%3C%3E.txt",
         "Initiate encoding-type=url: Key RFC 3986-encoded ('/' and '+' too)", f"{r.body!r}")
    part(c, weird, uid, 1, p3)
    r = list_parts(c, weird, uid, encoding_type="url")
    t.eq(xml_text(r.body, "Key"), "demo%2Fgp-%0C%0A%0B%20%2B%20%26%3C%3E.txt",
         "ListParts encoding-type=url")
    r = c.request("GET", "bkt", None, query={"uploads": None, "encoding-type": "url",
                                             "prefix": "demo/"})
    t.ok(b"demo%2Fgp-%0C%0A%0B" in r.body, "ListMultipartUploads encoding-type=url")
    r = complete(c, weird, uid, complete_body([(1, md5u(p3))]), query=[("encoding-type", "url")])
    t.ok(r.status == 200 and xml_text(r.body, "Key") == "demo%2Fgp-%0C%0A%0B%20%2B%20%26%3C%3E.txt",
         "Complete encoding-type=url")
    t.eq(c.request("GET", "bkt", weird).body, p3, "the object with the odd key reads back")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (defaults) exits 0 without sanitizer reports", why)

# ---- S3 dialect ---------------------------------------------------------------------
with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
    s3 = Client(srv.url, scheme="s3", region="us-east-1")
    big = 5 * MIB if not SLOW else 5 * MIB  # the S3 minimum is fixed
    q1, q2 = os.urandom(big), os.urandom(3333)
    key = "s3/obj"
    uid = initiate(s3, key)
    r = part(s3, key, uid, 1, q1)
    t.ok(r.status == 200 and r.header("etag") == f'"{hashlib.md5(q1).hexdigest()}"' and
         r.header("x-amz-request-id"), "S3 UploadPart: lower-case MD5 ETag, x-amz-request-id")
    t.eq(r.header("x-oss-hash-crc64ecma"), str(crc64(q1)), "S3 UploadPart also carries the CRC64")
    r = part(s3, key, uid, 2, q2, headers={"Content-MD5": base64.b64encode(
        hashlib.md5(b"other").digest()).decode()})
    t.ok(r.status == 400 and code_of(r) == "BadDigest" and "EC" not in error_of(r),
         "S3 Content-MD5 mismatch -> 400 BadDigest (no EC)", f"{r.body!r}")
    c32 = base64.b64encode(crc32c(q2).to_bytes(4, "big")).decode()
    nv = base64.b64encode(crc64nvme(q2).to_bytes(8, "big")).decode()
    r = part(s3, key, uid, 2, q2, headers={"x-amz-checksum-crc32c": c32,
                                           "x-amz-checksum-crc64nvme": nv})
    t.ok(r.status == 200 and r.header("x-amz-checksum-crc32c") == c32 and
         r.header("x-amz-checksum-crc64nvme") == nv,
         "x-amz-checksum-crc32c/-crc64nvme verified and echoed", f"{r.status} {r.body!r}")
    r = part(s3, key, uid, 3, q2, headers={"x-amz-checksum-crc32c": base64.b64encode(
        (crc32c(q2) ^ 1).to_bytes(4, "big")).decode()})
    t.ok(r.status == 400 and code_of(r) == "BadDigest", "wrong x-amz-checksum-crc32c -> BadDigest")
    r = part(s3, key, uid, 3, q2, headers={"x-amz-checksum-crc64nvme": base64.b64encode(
        (crc64nvme(q2) ^ 1).to_bytes(8, "big")).decode()})
    t.ok(r.status == 400 and code_of(r) == "BadDigest", "wrong x-amz-checksum-crc64nvme -> BadDigest")
    r = complete(s3, key, uid, complete_body([(1, hashlib.md5(q1).hexdigest()),
                                              (2, hashlib.md5(q2).hexdigest())], escape='"'))
    t.ok(r.status == 200 and xml_text(r.body, "ETag") == f'"{s3_final_etag([q1, q2])}"' and
         r.header("x-oss-hash-crc64ecma") == str(crc64(q1 + q2)),
         "S3 Complete: MD5 of the raw digests + -N, lower case", f"{r.body!r}")
    t.ok(s3.request("GET", "bkt", key).body == q1 + q2, "S3 GetObject returns the bytes")
    r = s3.request("GET", "bkt", key, query={"partNumber": "2"})
    t.ok(r.status == 206 and r.body == q2 and r.header("x-amz-mp-parts-count") == "2" and
         r.header("content-range") == f"bytes {len(q1)}-{len(q1) + len(q2) - 1}/{len(q1) + len(q2)}",
         "GET ?partNumber=2: 206, part 2's bytes, x-amz-mp-parts-count", str(r.headers))
    r = s3.request("HEAD", "bkt", key, query={"partNumber": "1"})
    t.ok(r.header("content-length") == str(len(q1)), "HEAD ?partNumber=1: part 1's length")
    r = s3.request("GET", "bkt", key, query={"partNumber": "3"})
    t.ok(r.status == 416 and code_of(r) == "InvalidPartNumber", "GET ?partNumber=3 of 2 -> 416")
    # The other S3 checksums: CRC32 (zlib), SHA-1, SHA-256.
    uid = initiate(s3, "s3/sums")
    sums = {"x-amz-checksum-crc32": b64(zlib.crc32(q2).to_bytes(4, "big")),
            "x-amz-checksum-sha1": b64(hashlib.sha1(q2).digest()),
            "x-amz-checksum-sha256": b64(hashlib.sha256(q2).digest())}
    r = part(s3, "s3/sums", uid, 1, q2, headers=sums)
    t.ok(r.status == 200 and all(r.header(k) == v for k, v in sums.items()),
         "x-amz-checksum-crc32/-sha1/-sha256 verified and echoed", f"{r.status} {r.body!r}")
    for k in sums:
        r = part(s3, "s3/sums", uid, 2, q2 + b"!", headers={k: sums[k]})
        t.ok(r.status == 400 and code_of(r) == "BadDigest", f"wrong {k} -> BadDigest")
    r = part(s3, "s3/sums", uid, 2, q2, headers={"x-amz-checksum-sha1": "short"})
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "malformed x-amz-checksum-sha1 -> 400")
    uid = initiate(s3, "s3/small")
    part(s3, "s3/small", uid, 1, q2)
    part(s3, "s3/small", uid, 2, q2)
    r = complete(s3, "s3/small", uid, complete_body([(1, hashlib.md5(q2).hexdigest()),
                                                     (2, hashlib.md5(q2).hexdigest())]))
    t.ok(r.status == 400 and code_of(r) == "EntityTooSmall",
         "S3 minimum part size is 5 MiB -> EntityTooSmall")
    r = s3.request("PUT", "bkt", key, body=b"x", headers={"If-None-Match": "*"})
    t.ok(r.status == 412 and code_of(r) == "PreconditionFailed",
         "S3 PutObject If-None-Match: * on an existing key -> 412")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (defaults) exits 0 without sanitizer reports", why)

t.done()
