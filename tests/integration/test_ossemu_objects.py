#!/usr/bin/env python3
"""ossemu bucket and object operations over raw HTTP: buckets (list, create,
head, delete), ListObjects V1 and V2 with prefix, delimiter and paging,
metadata round trips, response-* overrides, unsupported operations, the
/-/stats document, and how errors meet request bodies (drained, or refused
before the body with Expect: 100-continue).
"""
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, code_of, exit_ok, xml_doc  # noqa: E402

t = Tap()

with Ossemu(buckets=["bkt", "other"], keys=["ak:sk"]) as srv:
    for scheme in ("v1", "s3"):
        c = Client(srv.url, scheme=scheme)
        r = c.request("GET", None)
        names = [b.findtext("Name") for b in xml_doc(r.body).iter("Bucket")]
        t.ok(r.status == 200 and names == sorted(names) and {"bkt", "other"} <= set(names),
             f"{scheme}: ListBuckets lists the --bucket buckets, sorted", f"{r.body!r}")
    c = Client(srv.url)
    t.eq(c.request("HEAD", "bkt", None).status, 200, "HeadBucket of a bucket: 200")
    t.eq(c.request("HEAD", "nope", None).status, 404, "HeadBucket of an unknown bucket: 404")
    r = c.request("PUT", "Bad_Name", None)
    t.ok(r.status == 400 and code_of(r) == "InvalidBucketName", "PutBucket Bad_Name -> InvalidBucketName")
    t.eq(c.request("PUT", "fresh", None).status, 200, "PutBucket fresh")
    c.request("PUT", "fresh", "k", body=b"1")
    r = c.request("DELETE", "fresh", None)
    t.ok(r.status == 409 and code_of(r) == "BucketNotEmpty", "DeleteBucket of a non-empty bucket -> 409")
    c.request("DELETE", "fresh", "k")
    t.eq(c.request("DELETE", "fresh", None).status, 204, "DeleteBucket of an empty bucket -> 204")
    t.eq(code_of(c.request("GET", "fresh", "k")), "NoSuchBucket", "... then NoSuchBucket")

    # Metadata and Content-Type round trip; response-* overrides.
    data = os.urandom(3000)
    r = c.request("PUT", "bkt", "meta/obj.txt", body=data,
                  headers={"Content-Type": "text/plain", "x-oss-meta-Color": "blue",
                           "Cache-Control": "no-cache", "Content-Disposition": "inline"})
    r = c.request("GET", "bkt", "meta/obj.txt")
    t.ok(r.body == data and r.header("content-type") == "text/plain" and
         r.header("x-oss-meta-color") == "blue" and r.header("cache-control") == "no-cache" and
         r.header("content-disposition") == "inline",
         "Content-Type, x-oss-meta-*, Cache-Control, Content-Disposition stored and returned",
         str(r.headers))
    r = c.request("GET", "bkt", "meta/obj.txt",
                  query={"response-content-type": "application/x-test",
                         "response-content-disposition": "attachment"})
    t.ok(r.header("content-type") == "application/x-test" and
         r.header("content-disposition") == "attachment", "response-* query overrides")
    r = c.request("HEAD", "bkt", "meta/obj.txt")
    t.ok(r.status == 200 and r.header("content-length") == "3000" and r.body == b"" and
         r.header("x-oss-hash-crc64ecma") == str(crc64(data)) and
         r.header("etag") == f'"{hashlib.md5(data).hexdigest().upper()}"',
         "HeadObject: Content-Length, no body, CRC64, ETag")
    t.eq(c.request("GET", "bkt", "empty", body=b"").status, 404, "GET of a missing key: 404")
    c.request("PUT", "bkt", "empty", body=b"")
    r = c.request("GET", "bkt", "empty")
    t.ok(r.status == 200 and r.body == b"" and r.header("x-oss-hash-crc64ecma") == "0" and
         r.header("etag") == '"D41D8CD98F00B204E9800998ECF8427E"', "an empty object")

    # ListObjects.
    keys = ["a/1", "a/2", "a/b/3", "a/b/4", "c", "d e+f", "z/\u00fc"]
    for k in keys:
        c.request("PUT", "other", k, body=k.encode())
    r = c.request("GET", "other", None)
    doc = xml_doc(r.body)
    t.ok([x.findtext("Key") for x in doc.findall("Contents")] == sorted(keys) and
         doc.findtext("IsTruncated") == "false", "ListObjects: every key, sorted")
    sz = {x.findtext("Key"): int(x.findtext("Size")) for x in doc.findall("Contents")}
    t.eq(sz, {k: len(k.encode()) for k in keys}, "ListObjects: sizes")
    r = c.request("GET", "other", None, query={"prefix": "a/", "delimiter": "/"})
    doc = xml_doc(r.body)
    t.ok([x.findtext("Key") for x in doc.findall("Contents")] == ["a/1", "a/2"] and
         [p.findtext("Prefix") for p in doc.findall("CommonPrefixes")] == ["a/b/"],
         "ListObjects prefix a/ delimiter /: keys and CommonPrefixes", f"{r.body!r}")
    got, marker, pages = [], "", 0
    while True:
        q = {"max-keys": "2", "delimiter": "/"}
        if marker:
            q["marker"] = marker
        doc = xml_doc(c.request("GET", "other", None, query=q).body)
        got += [x.findtext("Key") for x in doc.findall("Contents")]
        got += [p.findtext("Prefix") for p in doc.findall("CommonPrefixes")]
        pages += 1
        if doc.findtext("IsTruncated") != "true":
            break
        marker = doc.findtext("NextMarker")
    t.eq((sorted(got), pages), (sorted(["a/", "c", "d e+f", "z/"]), 2),
         "ListObjects V1 paging by 2 with delimiter and NextMarker")
    got, marker = [], ""
    while True:  # max-keys 1: pages end on a common prefix
        q = {"max-keys": "1", "delimiter": "/", "prefix": "a/"}
        if marker:
            q["marker"] = marker
        doc = xml_doc(c.request("GET", "other", None, query=q).body)
        got += [x.findtext("Key") for x in doc.findall("Contents")]
        got += [p.findtext("Prefix") for p in doc.findall("CommonPrefixes")]
        if doc.findtext("IsTruncated") != "true" or len(got) > 10:
            break
        marker = doc.findtext("NextMarker")
    t.eq(got, ["a/1", "a/2", "a/b/"], "ListObjects paging by 1: a page ending on a prefix is not repeated")
    got, token = [], None
    while True:
        q = {"list-type": "2", "max-keys": "3"}
        if token:
            q["continuation-token"] = token
        doc = xml_doc(Client(srv.url, scheme="s3").request("GET", "other", None, query=q).body)
        got += [x.findtext("Key") for x in doc.findall("Contents")]
        if doc.findtext("IsTruncated") != "true":
            break
        token = doc.findtext("NextContinuationToken")
    t.eq(got, sorted(keys), "ListObjects V2 paging with continuation tokens")
    r = c.request("GET", "other", None, query={"encoding-type": "url", "prefix": "d"})
    t.eq(xml_doc(r.body).findtext("Contents/Key"), "d%20e%2Bf", "ListObjects encoding-type=url")

    # Unsupported operations are refused plainly.
    for m, q in (("GET", {"acl": None}), ("PUT", {"tagging": None}), ("POST", {"append": None})):
        r = c.request(m, "bkt", "meta/obj.txt", query=q, body=b"" if m == "GET" else b"x")
        t.ok(r.status == 501 and code_of(r) == "NotImplemented",
             f"{m} ?{list(q)[0]} -> 501 NotImplemented", f"{r.status} {r.body!r}")

    r = c.request("PUT", "bkt", "copy/dst", headers={"x-oss-copy-source": "/bkt/meta/obj.txt"})
    t.ok(r.status == 501 and c.request("HEAD", "bkt", "copy/dst").status == 404,
         "CopyObject -> 501, no empty object created")

    # An error decided before the body: drained without Expect, then answered.
    big = os.urandom(8 * 1024 * 1024)
    bad = Client(srv.url, sk="wrong")
    r = bad.request("PUT", "bkt", "big", body=big)
    t.ok(r.status == 403 and code_of(r) == "SignatureDoesNotMatch",
         "8 MiB body with a bad signature: drained, then 403 (no reset)")
    r = bad.request("HEAD", "bkt", "meta/obj.txt")
    t.eq(r.status, 403, "the connection is still usable after the drained error")
    # With Expect: 100-continue the refusal comes before the body is sent.
    target, h = bad.build("PUT", "bkt", "big", body=big)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    head = f"PUT {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + \
        f"Content-Length: {len(big)}\r\nExpect: 100-continue\r\n\r\n"
    t0 = time.time()
    s.sendall(head.encode())
    resp = s.recv(65536)
    s.close()
    t.ok(resp.startswith(b"HTTP/1.1 403") and b"SignatureDoesNotMatch" in resp and
         b"100 Continue" not in resp and time.time() - t0 < 2,
         "Expect: 100-continue + bad signature: 403 at once, no 100 Continue", f"{resp[:200]!r}")

    st = srv.stats()
    t.ok(set(st) >= {"requests", "requests_total", "bytes_in", "bytes_out", "active_connections",
                     "faults", "objects", "uploads"} and st["bytes_in"] >= len(big) and
         st["requests"]["putobject"].get("403") == 2 and st["requests"]["listobjects"]["200"] >= 5,
         "/-/stats: requests by operation and status, bytes_in counts drained bodies", str(st))
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu exits 0 without sanitizer reports", why)

t.done()
