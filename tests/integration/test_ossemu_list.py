#!/usr/bin/env python3
"""Listings and deletes for trees, over raw HTTP in both dialects:

- ListObjects V1 and V2 over odd key names (spaces, '+', '%41', UTF-8,
  'a-b' vs 'a/b' byte order, a key equal to a common prefix): byte order
  checked against Python's sort of the UTF-8 bytes; prefix, delimiter and
  CommonPrefixes; every page size from 1 to past the end with NextMarker,
  continuation tokens and start-after, concatenated pages equal to one big
  listing; encoding-type=url (the RFC 3986 set: '/' and '+' encoded too);
  max-keys defaults and limits per dialect; Type, StorageClass and Owner in
  Contents; NextMarker in S3 only with a delimiter;
- DeleteMultipleObjects: Content-MD5 required and checked, quiet and
  verbose answers per dialect, missing keys reported deleted, 1,000 keys at
  most, malformed bodies with OSS's ECs, encoding-type=url;
- 2,500 keys listed by 1,000-key pages in order.
"""
import base64
import hashlib
import os
import sys
import urllib.parse
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import Ossemu, Tap  # noqa: E402
from osssign import Client, code_of, error_of, exit_ok, xml_doc  # noqa: E402

t = Tap()
KEYS = ["a/1", "a/2", "a/b/3", "a-b", "a/b", "ab", "a/", "c", "d e+f", "%41", "A",
        "z/\u00fc", "z/\u00e9t\u00e9", "\u65e5\u672c/\u8a9e", "sp ace/x", "plus+/y", "~tilde"]
BYTE_ORDER = sorted(KEYS, key=lambda k: k.encode())


def md5b64(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def listing(c, v2, **q):
    """Every item (key or common prefix) of a listing, paging as a client
    does; returns (items, pages, last document)."""
    items, pages, marker = [], 0, None
    while True:
        query = {k.replace("_", "-"): str(v) for k, v in q.items()}
        if v2:
            query["list-type"] = "2"
            if marker:
                query["continuation-token"] = marker
        elif marker:
            query["marker"] = marker
        r = c.request("GET", "bkt", None, query=query)
        assert r.status == 200, r.body
        doc = xml_doc(r.body)
        enc = doc.findtext("EncodingType") == "url"
        dec = (lambda s: urllib.parse.unquote(s)) if enc else (lambda s: s)
        page = [("K", dec(x.findtext("Key"))) for x in doc.findall("Contents")]
        page += [("P", dec(x.findtext("Prefix"))) for x in doc.findall("CommonPrefixes")]
        items += sorted(page, key=lambda i: i[1].encode())
        pages += 1
        if doc.findtext("IsTruncated") != "true":
            return items, pages, doc
        if v2:
            marker = doc.findtext("NextContinuationToken")
        else:
            marker = doc.findtext("NextMarker")
            if marker is None:  # S3 without a delimiter: resume from the last key
                marker = page[-1][1] if page else None
            else:
                marker = dec(marker)
        assert marker, doc
        assert pages < 200


def expected(prefix="", delim=None):
    out = []
    for k in BYTE_ORDER:
        if not k.startswith(prefix):
            continue
        rest = k[len(prefix):]
        if delim and delim in rest:
            cp = prefix + rest[:rest.index(delim) + len(delim)]
            if not out or out[-1] != ("P", cp):
                out.append(("P", cp))
        else:
            out.append(("K", k))
    return out


with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
    oss, s3 = Client(srv.url, scheme="v1"), Client(srv.url, scheme="s3")
    for k in KEYS:
        oss.request("PUT", "bkt", k, body=k.encode())
    mp = oss.request("POST", "bkt", "mp/obj", query={"uploads": None})
    uid = xml_doc(mp.body).findtext("UploadId")
    e = oss.request("PUT", "bkt", "mp/obj", query={"partNumber": "1", "uploadId": uid}, body=b"m" * 10)
    oss.request("POST", "bkt", "mp/obj", query={"uploadId": uid},
                body=f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e.header('etag')}"
                     f"</ETag></Part></CompleteMultipartUpload>".encode())
    oss.request("PUT", "bkt", "cls/ia", body=b"i", headers={"x-oss-storage-class": "IA"})
    KEYS += ["mp/obj", "cls/ia"]
    BYTE_ORDER = sorted(KEYS, key=lambda k: k.encode())

    for name, c in (("OSS", oss), ("S3", s3)):
        for v2 in (False, True):
            tag = f"{name} V{2 if v2 else 1}"
            items, _, _ = listing(c, v2, max_keys=1000)
            t.eq(items, expected(), f"{tag}: every key, in byte order of UTF-8 ('a-b' < 'a/' < 'ab')")
            for prefix, delim in (("", "/"), ("a/", "/"), ("a", "/"), ("z/", None), ("a/b", "/"),
                                  ("", "b"), ("\u65e5", "/"), ("nothing", "/")):
                want = expected(prefix, delim)
                for mk in (1, 2, 3, 5, 1000):
                    q = {"prefix": prefix, "max_keys": mk}
                    if delim:
                        q["delimiter"] = delim
                    got, pages, _ = listing(c, v2, **q)
                    if got != want or (want and pages != -(-len(want) // mk)):
                        t.ok(False, f"{tag} prefix {prefix!r} delimiter {delim!r} by {mk}",
                             f"got {got} in {pages} pages\nwant {want}")
                        break
                else:
                    t.ok(True, f"{tag} prefix {prefix!r} delimiter {delim!r}: pages of 1, 2, 3, 5 "
                               f"and 1000 concatenate to the listing, no page repeated")
            items, _, _ = listing(c, v2, max_keys=2, encoding_type="url", delimiter="/")
            t.eq(items, expected("", "/"), f"{tag} encoding-type=url: decoded, the same listing")

    # encoding-type=url: what is encoded, and how.
    r = oss.request("GET", "bkt", None, query={"prefix": "d e", "encoding-type": "url", "delimiter": "+"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("CommonPrefixes/Prefix") == "d%20e%2B" and doc.findtext("Prefix") == "d%20e" and
         doc.findtext("Delimiter") == "%2B" and doc.findtext("EncodingType") == "url",
         "encoding-type=url: CommonPrefixes, Prefix, Delimiter RFC 3986-encoded (space %20, '+' %2B)", r.body)
    r = oss.request("GET", "bkt", None, query={"prefix": "d e", "encoding-type": "url"})
    t.eq(xml_doc(r.body).findtext("Contents/Key"), "d%20e%2Bf", "encoding-type=url: the Key too")
    r = oss.request("GET", "bkt", None, query={"prefix": "z/", "encoding-type": "url", "max-keys": "1"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("Contents/Key") == "z%2F%C3%A9t%C3%A9" and doc.findtext("NextMarker") == "z%2F%C3%A9t%C3%A9",
         "encoding-type=url: '/' and UTF-8 encoded in Key and NextMarker", r.body)
    r = oss.request("GET", "bkt", None, query={"prefix": "%4", "max-keys": "5"})
    t.eq(xml_doc(r.body).findtext("Contents/Key"), "%41", "a key '%41' is listed as such (never decoded)")

    # Elements of Contents.
    r = oss.request("GET", "bkt", None, query={"prefix": "mp/"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("Contents/Type") == "Multipart" and doc.findtext("Contents/StorageClass") == "Standard" and
         doc.find("Contents/Owner") is not None, "OSS V1 Contents: Type Multipart, StorageClass, Owner")
    r = oss.request("GET", "bkt", None, query={"prefix": "cls/", "list-type": "2"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("Contents/StorageClass") == "IA" and doc.findtext("Contents/Type") == "Normal" and
         doc.find("Contents/Owner") is None and doc.findtext("KeyCount") == "1",
         "OSS V2 Contents: StorageClass IA, Type Normal, no Owner without fetch-owner, KeyCount")
    r = oss.request("GET", "bkt", None, query={"prefix": "cls/", "list-type": "2", "fetch-owner": "true"})
    t.ok(xml_doc(r.body).find("Contents/Owner") is not None, "V2 fetch-owner=true: Owner")
    r = s3.request("GET", "bkt", None, query={"prefix": "cls/"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("Contents/StorageClass") == "STANDARD_IA" and doc.find("Contents/Type") is None,
         "S3 Contents: StorageClass STANDARD_IA (S3's name), no Type")
    r = oss.request("GET", "bkt", None, query={"delimiter": "/", "max-keys": "3", "list-type": "2"})
    doc = xml_doc(r.body)
    t.eq(int(doc.findtext("KeyCount")), len(doc.findall("Contents")) + len(doc.findall("CommonPrefixes")),
         "KeyCount counts Contents and CommonPrefixes")
    r = s3.request("GET", "bkt", None, query={"max-keys": "2"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("IsTruncated") == "true" and doc.find("NextMarker") is None,
         "S3 V1 without a delimiter: no NextMarker (clients resume from the last Key)")
    r = oss.request("GET", "bkt", None, query={"max-keys": "2"})
    t.ok(xml_doc(r.body).findtext("NextMarker") == BYTE_ORDER[1], "OSS V1: NextMarker on a truncated page")
    r = s3.request("GET", "bkt", None, query={"start-after": "a/b", "list-type": "2", "max-keys": "2"})
    doc = xml_doc(r.body)
    t.ok([x.findtext("Key") for x in doc.findall("Contents")] == BYTE_ORDER[BYTE_ORDER.index("a/b") + 1:][:2] and
         doc.findtext("StartAfter") == "a/b", "V2 start-after: after it, echoed")

    # max-keys.
    r = oss.request("GET", "bkt", None)
    t.eq(xml_doc(r.body).findtext("MaxKeys"), "100", "OSS max-keys defaults to 100")
    r = s3.request("GET", "bkt", None)
    t.eq(xml_doc(r.body).findtext("MaxKeys"), "1000", "S3 max-keys defaults to 1000")
    r = oss.request("GET", "bkt", None, query={"max-keys": "1001"})
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "OSS max-keys 1001: 400 InvalidArgument")
    r = s3.request("GET", "bkt", None, query={"max-keys": "5000"})
    t.ok(r.status == 200 and xml_doc(r.body).findtext("MaxKeys") == "1000", "S3 max-keys 5000: served as 1000")
    r = oss.request("GET", "bkt", None, query={"max-keys": "-1"})
    t.eq(r.status, 400, "max-keys -1: 400")
    r = oss.request("GET", "bkt", None, query={"max-keys": "0"})
    doc = xml_doc(r.body)
    t.ok(doc.findtext("IsTruncated") == "false" and not doc.findall("Contents"), "max-keys 0: nothing, not truncated")
    r = oss.request("GET", "bkt", None, query={"list-type": "2", "continuation-token": "zz"})
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "a continuation token ossemu did not make: 400")

    # ---- DeleteMultipleObjects -------------------------------------------------------------
    def delete_body(keys, quiet=None, prolog=True):
        objs = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in keys)
        q = "" if quiet is None else f"<Quiet>{'true' if quiet else 'false'}</Quiet>"
        return ((b'<?xml version="1.0" encoding="UTF-8"?>' if prolog else b"") +
                f"<Delete>{q}{objs}</Delete>".encode())

    def delete(c, keys, quiet=None, md5=True, query=None, headers=None, body=None, prolog=True):
        b = body if body is not None else delete_body(keys, quiet, prolog)
        h = dict(headers or {})
        if md5:
            h["Content-MD5"] = md5b64(b)
        q = {"delete": None}
        q.update(query or {})
        return c.request("POST", "bkt", None, query=q, body=b, headers=h)

    for k in ("del/a", "del/b & <c>", "del/\u00fc", "del/sp ace+", "del/q'\""):
        oss.request("PUT", "bkt", k, body=b"x")
    r = delete(oss, ["del/a", "del/b & <c>", "del/missing"])
    doc = xml_doc(r.body)
    t.ok(r.status == 200 and [x.findtext("Key") for x in doc.findall("Deleted")] ==
         ["del/a", "del/b & <c>", "del/missing"],
         "OSS verbose: <Deleted> for each key in request order, a missing key too", r.body)
    t.eq(oss.request("HEAD", "bkt", "del/b & <c>").status, 404, "... and the objects are gone")
    r = delete(oss, ["del/\u00fc", "del/sp ace+"], query={"encoding-type": "url"}, prolog=False)
    doc = xml_doc(r.body)
    t.ok(doc.findtext("EncodingType") == "url" and
         [x.findtext("Key") for x in doc.findall("Deleted")] == ["del%2F%C3%BC", "del%2Fsp%20ace%2B"],
         "OSS encoding-type=url: the answer's keys encoded (request keys raw; no prolog accepted)", r.body)
    r = delete(oss, ["del/q'\""], quiet=True)
    t.ok(r.status == 200 and r.body == b"", "OSS quiet: 200 with no body", r.body)
    t.eq(oss.request("HEAD", "bkt", "del/q'\"").status, 404, "... the object is gone")
    s3.request("PUT", "bkt", "del/s3", body=b"x")
    r = delete(s3, ["del/s3", "del/none"])
    doc = xml_doc(r.body)
    t.ok(r.status == 200 and [x.findtext("Key") for x in doc.findall("Deleted")] == ["del/s3", "del/none"] and
         b"xmlns" in r.body, "S3 verbose: <Deleted> keys, S3 namespace")
    r = delete(s3, ["x"], quiet=True)
    t.ok(r.status == 200 and xml_doc(r.body).tag == "DeleteResult" and not list(xml_doc(r.body)),
         "S3 quiet: an empty <DeleteResult/>", r.body)
    r = delete(oss, ["x"], md5=False)
    t.ok(r.status == 400 and error_of(r).get("EC") == "0016-00000606", "no Content-MD5: 400, EC 0016-00000606",
         r.body)
    r = delete(s3, ["x"], md5=False)
    t.ok(r.status == 400 and code_of(r) == "InvalidRequest", "S3 without Content-MD5 or a checksum: 400 InvalidRequest")
    b = delete_body(["x"])
    r = delete(oss, None, body=b, md5=False, headers={"Content-MD5": md5b64(b + b" ")})
    t.ok(r.status == 400 and code_of(r) == "InvalidDigest", "a wrong Content-MD5: 400 InvalidDigest")
    for body, ec, what in ((b"<Delete><Object><VersionId>v</VersionId></Object></Delete>", "0016-00000613",
                            "an Object without a Key"),
                           (b"<Delete><Quiet>maybe</Quiet><Object><Key>k</Key></Object></Delete>",
                            "0016-00000610", "Quiet neither true nor false"),
                           (b"<Delete></Delete>", None, "no Object"),
                           (b"<Delete><Object><Key>k</Key>", None, "a truncated document"),
                           (b"<Other/>", None, "another root")):
        r = delete(oss, None, body=body)
        t.ok(r.status == 400 and code_of(r) == "MalformedXML" and (ec is None or error_of(r).get("EC") == ec),
             f"{what}: 400 MalformedXML{' EC ' + ec if ec else ''}", r.body)
    many = [f"many/{i}" for i in range(1001)]
    r = delete(s3, many)
    t.ok(r.status == 400 and code_of(r) == "MalformedXML", "1,001 keys: 400 MalformedXML")
    r = delete(s3, many[:1000])
    t.ok(r.status == 200 and len(xml_doc(r.body).findall("Deleted")) == 1000, "1,000 keys: all reported")
    t.ok(exit_ok(srv)[0], "ossemu exits 0")

# ---- 2,500 keys by pages of 1,000 -------------------------------------------------------------
with Ossemu(args=["--anonymous"]) as srv:
    c = Client(srv.url, scheme="anon", reconnect=True)
    keys = [f"t/{i:05d}/{'x' * (i % 7)}" for i in range(2500)]
    for k in keys:
        c.request("PUT", "bkt", k, body=b"")
    got, pages, _ = listing(c, True, max_keys=1000, prefix="t/")
    t.ok([k for _, k in got] == sorted(keys) and pages == 3, f"2,500 keys in {pages} pages of 1,000, in order")
    got, pages, _ = listing(c, False, max_keys=1000, delimiter="/")
    t.eq(got, [("P", "t/")], "delimiter '/': 2,500 keys under one common prefix are one item")
    t.ok(exit_ok(srv)[0], "ossemu exits 0")
t.done()
