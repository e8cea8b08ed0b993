#!/usr/bin/env python3
"""Object options stored with an object and answered on HEAD/GET, over raw
HTTP: user metadata (x-oss-meta-* / x-amz-meta-*), Content-Type, storage
class (PutObject and Initiate, in listings too), and server-side
encryption: OSS AES256 / KMS (key id, the default one) / SM4, S3 AES256 /
aws:kms / SSE-C.  In the S3 dialect the ETag of an SSE-KMS or SSE-C object
(and of its parts) is not the MD5 of its bytes, as AWS documents; the data
itself and its CRC-64 (checked with crcmod) are unchanged; an SSE-C object
is read only with its key.  Options survive a restart on the data dir.
"""
import base64
import hashlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, code_of, complete_body, exit_ok, xml_doc, xml_text  # noqa: E402

t = Tap()
MB = 1024 * 1024
key32 = os.urandom(32)
SSEC = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(key32).decode(),
        "x-amz-server-side-encryption-customer-key-MD5":
            base64.b64encode(hashlib.md5(key32).digest()).decode()}

data_dir = tempfile.mkdtemp(prefix="ossemu-opts-")
with Ossemu(buckets=["bkt"], keys=["ak:sk"], data_dir=data_dir) as srv:
    oss, s3 = Client(srv.url, scheme="v4"), Client(srv.url, scheme="s3")
    body = os.urandom(70000)
    md5hex = hashlib.md5(body).hexdigest()

    # ---- metadata and Content-Type, both dialects ----------------------------------------
    r = oss.request("PUT", "bkt", "m/oss", body=body,
                    headers={"Content-Type": "image/jpeg", "x-oss-meta-Owner": "ops team",
                             "x-oss-meta-n": "1"})
    t.eq(r.status, 200, "OSS PutObject with metadata")
    r = oss.request("HEAD", "bkt", "m/oss")
    t.ok(r.header("content-type") == "image/jpeg" and r.header("x-oss-meta-owner") == "ops team" and
         r.header("x-oss-meta-n") == "1", "OSS HEAD: Content-Type and x-oss-meta-* (names lower-cased)",
         str(r.headers))
    r = s3.request("PUT", "bkt", "m/s3", body=body,
                   headers={"Content-Type": "text/csv", "x-amz-meta-source": "boto"})
    r = s3.request("GET", "bkt", "m/s3")
    t.ok(r.body == body and r.header("content-type") == "text/csv" and
         r.header("x-amz-meta-source") == "boto", "S3 GET: Content-Type and x-amz-meta-*")
    uid = xml_text(oss.request("POST", "bkt", "m/mp", query={"uploads": None},
                               headers={"Content-Type": "application/x-tar", "x-oss-meta-k": "v",
                                        "x-oss-storage-class": "IA"}).body, "UploadId")
    part = os.urandom(200 * 1024)
    e = oss.request("PUT", "bkt", "m/mp", query={"partNumber": "1", "uploadId": uid}, body=part)
    oss.request("POST", "bkt", "m/mp", query={"uploadId": uid}, body=complete_body([(1, e.header("etag"))]))
    r = oss.request("HEAD", "bkt", "m/mp")
    t.ok(r.header("content-type") == "application/x-tar" and r.header("x-oss-meta-k") == "v" and
         r.header("x-oss-storage-class") == "IA" and r.header("x-oss-object-type") == "Multipart",
         "Initiate's Content-Type, metadata and storage class end up on the object", str(r.headers))
    doc = xml_doc(oss.request("GET", "bkt", None, query={"prefix": "m/mp"}).body)
    t.eq(doc.findtext("Contents/StorageClass"), "IA", "... and the listing shows its storage class")

    # ---- OSS server-side encryption -------------------------------------------------------
    for alg, extra, want_key in (("AES256", {}, None), ("KMS", {}, "ossemu-default-kms-key"),
                                 ("KMS", {"x-oss-server-side-encryption-key-id": "cmk-123"}, "cmk-123"),
                                 ("SM4", {}, None)):
        h = {"x-oss-server-side-encryption": alg}
        h.update(extra)
        k = f"sse/oss-{alg}-{want_key}"
        r = oss.request("PUT", "bkt", k, body=body, headers=h)
        t.ok(r.status == 200 and r.header("x-oss-server-side-encryption") == alg and
             r.header("etag") == f'"{md5hex.upper()}"' and
             r.header("x-oss-server-side-encryption-key-id") == want_key,
             f"OSS PutObject SSE {alg}{' key ' + want_key if want_key else ''}: echoed, ETag the MD5",
             str(r.headers))
        g = oss.request("GET", "bkt", k)
        t.ok(g.body == body and g.header("x-oss-server-side-encryption") == alg and
             g.header("x-oss-hash-crc64ecma") == str(crc64(body)),
             f"OSS GET of an SSE {alg} object: the plaintext, its CRC, the header")
    r = oss.request("PUT", "bkt", "sse/bad", body=b"x", headers={"x-oss-server-side-encryption": "DES"})
    t.ok(r.status == 400 and code_of(r) == "InvalidEncryptionAlgorithmError", "OSS SSE DES: 400")
    r = oss.request("PUT", "bkt", "sse/bad", body=b"x",
                    headers={"x-oss-server-side-encryption": "AES256",
                             "x-oss-server-side-encryption-key-id": "k"})
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "OSS a KMS key id without KMS: 400")
    r = oss.request("PUT", "bkt", "sse/sm4", body=b"x",
                    headers={"x-oss-server-side-encryption": "KMS",
                             "x-oss-server-side-data-encryption": "SM4"})
    t.ok(r.status == 200 and r.header("x-oss-server-side-data-encryption") == "SM4",
         "OSS KMS with SM4 data encryption: echoed")

    # ---- S3 server-side encryption: AES256 keeps the MD5 ETag, KMS and SSE-C do not -------------
    r = s3.request("PUT", "bkt", "sse/s3-aes", body=body, headers={"x-amz-server-side-encryption": "AES256"})
    t.ok(r.header("etag") == f'"{md5hex}"' and r.header("x-amz-server-side-encryption") == "AES256",
         "S3 SSE-S3 (AES256): ETag is the MD5")
    r = s3.request("PUT", "bkt", "sse/s3-kms", body=body, headers={"x-amz-server-side-encryption": "aws:kms"})
    kms_etag = r.header("etag")
    t.ok(r.status == 200 and kms_etag and kms_etag != f'"{md5hex}"' and len(kms_etag) == 34 and
         r.header("x-amz-server-side-encryption") == "aws:kms" and
         r.header("x-amz-server-side-encryption-aws-kms-key-id", "").startswith("arn:aws:kms:"),
         "S3 SSE-KMS: the ETag is 32 hex digits but not the MD5; the default key's ARN", str(r.headers))
    g = s3.request("GET", "bkt", "sse/s3-kms")
    t.ok(g.body == body and g.header("etag") == kms_etag and
         g.header("x-oss-hash-crc64ecma") == str(crc64(body)),
         "S3 GET of an SSE-KMS object: the plaintext, the same ETag, the CRC of the plaintext")
    r = s3.request("PUT", "bkt", "sse/s3-kms2", body=body,
                   headers={"x-amz-server-side-encryption": "aws:kms",
                            "x-amz-server-side-encryption-aws-kms-key-id": "alias/mine"})
    t.ok(r.header("etag") == kms_etag and r.header("x-amz-server-side-encryption-aws-kms-key-id") == "alias/mine",
         "SSE-KMS ETags are stable for the same bytes; a named key id is echoed")
    uid = xml_text(s3.request("POST", "bkt", "sse/s3-kms-mp", query={"uploads": None},
                              headers={"x-amz-server-side-encryption": "aws:kms"}).body, "UploadId")
    parts = [os.urandom(5 * MB), os.urandom(1000)]
    etags = []
    for n, d in enumerate(parts, 1):
        r = s3.request("PUT", "bkt", "sse/s3-kms-mp", query={"partNumber": str(n), "uploadId": uid}, body=d)
        etags.append((n, r.header("etag")))
    t.ok(all(e != f'"{hashlib.md5(d).hexdigest()}"' for (_, e), d in zip(etags, parts)) and
         all(r.header("x-amz-server-side-encryption") == "aws:kms" for _ in [0]),
         "S3 UploadPart of an SSE-KMS upload: part ETags are not MD5s")
    r = s3.request("POST", "bkt", "sse/s3-kms-mp", query={"uploadId": uid}, body=complete_body(etags))
    t.ok(r.status == 200 and xml_text(r.body, "ETag").endswith('-2"'),
         "... Complete with those ETags works; the object ETag ends in -2", r.body)
    g = s3.request("GET", "bkt", "sse/s3-kms-mp")
    t.ok(g.body == b"".join(parts) and g.header("x-amz-server-side-encryption") == "aws:kms",
         "... the object reads back whole, still SSE-KMS")

    r = s3.request("PUT", "bkt", "sse/ssec", body=body, headers=SSEC)
    ssec_etag = r.header("etag")
    t.ok(r.status == 200 and ssec_etag != f'"{md5hex}"' and
         r.header("x-amz-server-side-encryption-customer-algorithm") == "AES256" and
         r.header("x-amz-server-side-encryption-customer-key-md5") ==
         SSEC["x-amz-server-side-encryption-customer-key-MD5"],
         "S3 SSE-C: stored; the ETag is not the MD5; algorithm and key MD5 echoed")
    r = s3.request("GET", "bkt", "sse/ssec")
    t.ok(r.status == 400 and code_of(r) == "InvalidRequest", "SSE-C GET without the key: 400 InvalidRequest")
    other = os.urandom(32)
    r = s3.request("GET", "bkt", "sse/ssec", headers={
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(other).decode(),
        "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(hashlib.md5(other).digest()).decode()})
    t.ok(r.status == 403 and code_of(r) == "AccessDenied", "SSE-C GET with another key: 403")
    r = s3.request("GET", "bkt", "sse/ssec", headers=SSEC)
    t.ok(r.status == 200 and r.body == body, "SSE-C GET with the key: the bytes")
    t.eq(s3.request("HEAD", "bkt", "sse/ssec").status, 400, "SSE-C HEAD without the key: 400")
    bad = dict(SSEC)
    bad["x-amz-server-side-encryption-customer-key-MD5"] = base64.b64encode(b"0" * 16).decode()
    r = s3.request("PUT", "bkt", "sse/ssec2", body=b"x", headers=bad)
    t.ok(r.status == 400 and code_of(r) == "InvalidArgument", "SSE-C with a key MD5 that does not match: 400")
    r = s3.request("PUT", "bkt", "sse/bad", body=b"x", headers={"x-amz-server-side-encryption": "KMS"})
    t.eq(r.status, 400, "S3 SSE 'KMS' (S3 says aws:kms): 400")
    t.eq(oss.request("HEAD", "bkt", "sse/s3-kms").header("x-oss-server-side-encryption"), "KMS",
         "an S3 aws:kms object is KMS over OSS")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu exits 0 without sanitizer reports", why)

# Options survive a restart on the same data directory.
with Ossemu(buckets=["bkt"], keys=["ak:sk"], data_dir=data_dir) as srv:
    oss, s3 = Client(srv.url, scheme="v1"), Client(srv.url, scheme="s3")
    r = oss.request("HEAD", "bkt", "m/mp")
    t.ok(r.header("x-oss-storage-class") == "IA" and r.header("x-oss-meta-k") == "v",
         "after a restart: storage class and metadata")
    r = s3.request("HEAD", "bkt", "sse/s3-kms2")
    t.ok(r.header("x-amz-server-side-encryption-aws-kms-key-id") == "alias/mine",
         "after a restart: the KMS key id")
    t.eq(s3.request("GET", "bkt", "sse/ssec").status, 400, "after a restart: SSE-C still needs its key")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (restarted) exits 0", why)
shutil.rmtree(data_dir, ignore_errors=True)
t.done()
