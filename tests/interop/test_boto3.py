#!/usr/bin/python3
"""test_boto3 - interop: Debian's boto3/botocore (the real AWS SDK for Python)
against a real ossemu, in the S3 dialect (AWS SigV4, path-style addressing).

What it owns: proving that ossemu speaks S3 as boto3 expects it -
put/get/head, multipart upload with ListParts paging, Abort, the S3 error
codes (SignatureDoesNotMatch, InvalidAccessKeyId, BadDigest,
EntityTooSmall, InvalidPart, InvalidPartOrder, NoSuchUpload), the
list_objects / list_objects_v2 paginators over odd key names (against a
byte-order reference computed here), delete_objects, SSE-KMS (whose ETag
is not the MD5), metadata, storage classes and checksum mode - and that what
comes back is right: bytes read back, ETags recomputed here with hashlib (S3
part ETag = lower-case MD5, final = MD5 of the concatenated raw digests plus
"-N") and CRC64 recomputed with crcmod (tests/lib/hoisttest.py), never with
hoist's code.  Single-threaded.

Run with Debian's /usr/bin/python3 (python3-boto3, python3-crcmod).
"""
import base64
import hashlib
import os
import random
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import hoisttest  # noqa: E402

hoisttest.hermetic_aws_env()

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402

from hoisttest import Ossemu, Tap, crc64  # noqa: E402

BUCKET = "interop"
AK = "interopak"
SK = "interop-secret-0123456789"
MIB = 1024 * 1024

t = Tap()


def data(n, seed):
    """Deterministic pseudo-random bytes, so a failure reproduces."""
    return random.Random(f"hoist-interop-{seed}").randbytes(n)


def s3_etag(b):
    return '"' + hashlib.md5(b).hexdigest() + '"'


def s3_multipart_etag(parts):
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return '"' + hashlib.md5(digests).hexdigest() + f'-{len(parts)}"'


def b64md5(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def client(url, ak=AK, sk=SK):
    cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                 retries={"max_attempts": 1, "mode": "standard"},
                 connect_timeout=10, read_timeout=30)
    return boto3.session.Session(aws_access_key_id=ak, aws_secret_access_key=sk,
                                 region_name="us-east-1").client("s3", endpoint_url=url, config=cfg)


def headers(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"]


def error(fn):
    """Runs fn; returns (code, http status) of the ClientError it raised, or None."""
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None


def expect_error(name, fn, code, status):
    got = error(fn)
    return t.eq(got, (code, status), name)


def check_crc(resp, body, what):
    t.eq(headers(resp).get("x-oss-hash-crc64ecma"), str(crc64(body)),
         f"{what}: x-oss-hash-crc64ecma equals CRC-64/XZ computed with crcmod")


def step(name, fn):
    try:
        fn()
    except Exception as e:  # a crashed step is one failure, the others still run
        t.ok(False, name, f"raised {type(e).__name__}: {str(e)[:400]}")


def main():
    t.eq(crc64(b"123456789"), 0x995DC9BBDF1939FA, "reference CRC-64/XZ check value (crcmod)")
    t.ok(botocore.__version__ != "", f"botocore {botocore.__version__}")
    with Ossemu(buckets=[BUCKET], keys=[f"{AK}:{SK}"]) as srv:
        s3 = client(srv.url)
        run(srv, s3)
        rc = srv.stop()
        t.eq(rc, 0, "ossemu exits 0 on SIGTERM")
        if t.failed:
            for line in srv.stderr().splitlines()[-30:]:
                print(f"# ossemu: {line}")


def run(srv, s3):
    small = data(300 * 1024 + 17, "small")

    def put_get_head():
        r = s3.put_object(Bucket=BUCKET, Key="s3/small.bin", Body=small)
        t.eq(r["ETag"], s3_etag(small), "put_object: ETag is the quoted lower-case MD5")
        t.ok(headers(r).get("x-amz-request-id"), "put_object: x-amz-request-id present")
        check_crc(r, small, "put_object")
        g = s3.get_object(Bucket=BUCKET, Key="s3/small.bin")
        body = g["Body"].read()
        t.ok(body == small, "get_object: bytes read back equal",
             f"got {len(body)} bytes md5 {hashlib.md5(body).hexdigest()}")
        t.eq(g["ETag"], s3_etag(small), "get_object: ETag")
        t.eq(g["ContentLength"], len(small), "get_object: ContentLength")
        check_crc(g, small, "get_object")
        g = s3.get_object(Bucket=BUCKET, Key="s3/small.bin", Range="bytes=100-65635")
        t.eq(g["ResponseMetadata"]["HTTPStatusCode"], 206, "get_object Range: 206")
        t.ok(g["Body"].read() == small[100:65636], "get_object Range: bytes 100-65635 equal")
        t.eq(g.get("ContentRange"), f"bytes 100-65635/{len(small)}", "get_object Range: Content-Range")
        h = s3.head_object(Bucket=BUCKET, Key="s3/small.bin")
        t.eq(h["ContentLength"], len(small), "head_object: ContentLength")
        t.eq(h["ETag"], s3_etag(small), "head_object: ETag")
        check_crc(h, small, "head_object")
        t.eq(error(lambda: s3.head_object(Bucket=BUCKET, Key="s3/missing")), ("404", 404),
             "head_object of a missing key: 404")
        expect_error("get_object of a missing key: NoSuchKey",
                     lambda: s3.get_object(Bucket=BUCKET, Key="s3/missing"), "NoSuchKey", 404)
        expect_error("missing bucket: NoSuchBucket",
                     lambda: s3.get_object(Bucket="nosuchbucket", Key="x"), "NoSuchBucket", 404)
        key = "s3/d\u00efr/sp ace+plus%25~.bin"
        odd = data(3333, "odd")
        s3.put_object(Bucket=BUCKET, Key=key, Body=odd)
        t.ok(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == odd,
             "put/get of a non-ASCII key with space, + and %: bytes equal")
        # A presigned GET is SigV4 in the query string with UNSIGNED-PAYLOAD.
        u = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "s3/small.bin"},
                                      ExpiresIn=300)
        with urllib.request.urlopen(u, timeout=30) as resp:
            t.ok(resp.read() == small, "presigned GET (SigV4 query, UNSIGNED-PAYLOAD): bytes equal")
    step("put/get/head", put_get_head)

    def multipart():
        key = "s3/mp.bin"
        parts = [data(5 * MIB, f"p{i}") for i in (1, 2, 3)] + [data(1 * MIB + 7, "tail")]
        whole = b"".join(parts)
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        t.ok(up, "create_multipart_upload: UploadId")
        etags = []
        for i, p in enumerate(parts, 1):
            r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=i, Body=p)
            etags.append(r["ETag"])
            t.eq(r["ETag"], s3_etag(p), f"upload_part {i}: ETag is the quoted lower-case MD5")
            check_crc(r, p, f"upload_part {i}")
        l1 = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=up, MaxParts=2)
        t.eq(l1.get("IsTruncated"), True, "list_parts MaxParts=2: IsTruncated")
        t.eq(l1.get("NextPartNumberMarker"), 2, "list_parts MaxParts=2: NextPartNumberMarker")
        t.eq([p["PartNumber"] for p in l1.get("Parts", [])], [1, 2], "list_parts MaxParts=2: parts 1,2")
        l2 = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=up, PartNumberMarker=2)
        t.eq(l2.get("IsTruncated"), False, "list_parts PartNumberMarker=2: not truncated")
        listed = l1.get("Parts", []) + l2.get("Parts", [])
        t.eq([(p["PartNumber"], p["ETag"], p["Size"]) for p in listed],
             [(i, s3_etag(p), len(p)) for i, p in enumerate(parts, 1)],
             "list_parts: number, ETag and Size of every part")
        lu = s3.list_multipart_uploads(Bucket=BUCKET)
        t.ok(any(u["UploadId"] == up and u["Key"] == key for u in lu.get("Uploads", [])),
             "list_multipart_uploads: shows the upload")
        r = s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": i, "ETag": e} for i, e in enumerate(etags, 1)]})
        want = s3_multipart_etag(parts)
        t.eq(r.get("ETag"), want, "complete: ETag = MD5(concatenated raw part digests)-4")
        t.eq((r.get("Bucket"), r.get("Key")), (BUCKET, key), "complete: Bucket and Key")
        check_crc(r, whole, "complete (whole object)")
        h = s3.head_object(Bucket=BUCKET, Key=key)
        t.eq((h["ContentLength"], h["ETag"]), (len(whole), want), "head_object after complete: size and ETag")
        g = s3.get_object(Bucket=BUCKET, Key=key)
        body = g["Body"].read()
        t.ok(body == whole, "get_object after complete: the same object byte for byte",
             f"got {len(body)} bytes, want {len(whole)}")
        check_crc(g, whole, "get_object after complete")
        expect_error("upload_part after complete: NoSuchUpload",
                     lambda: s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=5, Body=b"x"),
                     "NoSuchUpload", 404)
    step("multipart upload", multipart)

    def abort():
        key = "s3/aborted.bin"
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        p = data(100 * 1024, "ab")
        e1 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=p)["ETag"]
        r = s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up)
        t.eq(r["ResponseMetadata"]["HTTPStatusCode"], 204, "abort_multipart_upload: 204")
        expect_error("list_parts after abort: NoSuchUpload",
                     lambda: s3.list_parts(Bucket=BUCKET, Key=key, UploadId=up), "NoSuchUpload", 404)
        expect_error("upload_part after abort: NoSuchUpload",
                     lambda: s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=2, Body=p),
                     "NoSuchUpload", 404)
        expect_error("complete after abort: NoSuchUpload",
                     lambda: s3.complete_multipart_upload(
                         Bucket=BUCKET, Key=key, UploadId=up,
                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]}),
                     "NoSuchUpload", 404)
        expect_error("abort twice: NoSuchUpload",
                     lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up), "NoSuchUpload", 404)
        t.eq(error(lambda: s3.head_object(Bucket=BUCKET, Key=key)), ("404", 404), "aborted upload left no object")
    step("abort", abort)

    def bad_digest():
        key = "s3/digest.bin"
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        p = data(200 * 1024, "dg")
        expect_error("upload_part with a wrong Content-MD5: 400 BadDigest",
                     lambda: s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=p,
                                            ContentMD5=b64md5(b"other")), "BadDigest", 400)
        lp = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=up)
        t.eq(lp.get("Parts", []), [], "the part with a wrong Content-MD5 was not stored")
        r = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=p, ContentMD5=b64md5(p))
        t.eq(r["ETag"], s3_etag(p), "upload_part with the right Content-MD5: accepted, ETag")
        s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up)
        expect_error("put_object with a wrong Content-MD5: 400 BadDigest",
                     lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=p, ContentMD5=b64md5(b"other")),
                     "BadDigest", 400)
        t.eq(error(lambda: s3.head_object(Bucket=BUCKET, Key=key)), ("404", 404),
             "put_object with a wrong Content-MD5 stored nothing")
    step("BadDigest", bad_digest)

    def complete_errors():
        key = "s3/small-parts.bin"
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        p1, p2 = data(1 * MIB, "s1"), data(1024, "s2")
        e1 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
        e2 = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=2, Body=p2)["ETag"]

        def complete(parts):
            return lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up,
                                                        MultipartUpload={"Parts": parts})
        expect_error("complete with a 1 MiB non-last part: 400 EntityTooSmall",
                     complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]),
                     "EntityTooSmall", 400)
        expect_error("complete with a wrong part ETag: 400 InvalidPart",
                     complete([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]), "InvalidPart", 400)
        expect_error("complete with a part never uploaded: 400 InvalidPart",
                     complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 7, "ETag": e2}]), "InvalidPart", 400)
        expect_error("complete with parts out of order: 400 InvalidPartOrder",
                     complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]),
                     "InvalidPartOrder", 400)
        # The failed Completes left the upload usable: a single part completes.
        r = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
        t.eq(r.get("ETag"), s3_multipart_etag([p1]), "complete with part 1 only after the errors: ETag -1")
        g = s3.get_object(Bucket=BUCKET, Key=key)
        t.ok(g["Body"].read() == p1, "the object is part 1 byte for byte")
        check_crc(g, p1, "the object of part 1")
    step("Complete errors", complete_errors)

    def auth():
        bad = client(srv.url, sk=SK + "x")
        expect_error("put_object with a wrong secret: 403 SignatureDoesNotMatch",
                     lambda: bad.put_object(Bucket=BUCKET, Key="s3/denied.bin", Body=b"denied"),
                     "SignatureDoesNotMatch", 403)
        t.eq(error(lambda: s3.head_object(Bucket=BUCKET, Key="s3/denied.bin")), ("404", 404),
             "the denied put stored nothing")
        expect_error("get_object with a wrong secret: 403 SignatureDoesNotMatch",
                     lambda: bad.get_object(Bucket=BUCKET, Key="s3/small.bin"), "SignatureDoesNotMatch", 403)
        expect_error("create_multipart_upload with a wrong secret: 403 SignatureDoesNotMatch",
                     lambda: bad.create_multipart_upload(Bucket=BUCKET, Key="s3/denied.bin"),
                     "SignatureDoesNotMatch", 403)
        unknown = client(srv.url, ak="nosuchak")
        expect_error("unknown access key: 403 InvalidAccessKeyId",
                     lambda: unknown.get_object(Bucket=BUCKET, Key="s3/small.bin"), "InvalidAccessKeyId", 403)
    step("auth", auth)

    names = ["a/1", "a/2", "a/b/3", "a-b", "a/b", "ab", "a/", "c", "d e+f", "%41", "A",
             "z/\u00fc", "\u65e5\u672c/\u8a9e", "sp ace/x", "plus+/y", "~t"]
    keys = [f"tree/{n}" for n in names]
    byte_order = sorted(keys, key=lambda k: k.encode())

    def want(delim):
        out = []
        for k in byte_order:
            rest = k[len("tree/"):]
            item = ("P", "tree/" + rest[:rest.index(delim) + 1]) if delim and delim in rest else ("K", k)
            if not out or out[-1] != item:
                out.append(item)
        return out

    def listings():
        for k in keys:
            s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
        for op in ("list_objects", "list_objects_v2"):
            for delim in (None, "/"):
                for size in (1, 3, 1000):
                    kw = {"Bucket": BUCKET, "Prefix": "tree/", "PaginationConfig": {"PageSize": size}}
                    if delim:
                        kw["Delimiter"] = delim
                    got = []
                    for page in s3.get_paginator(op).paginate(**kw):
                        items = [("K", o["Key"]) for o in page.get("Contents", [])]
                        items += [("P", p["Prefix"]) for p in page.get("CommonPrefixes", [])]
                        got += sorted(items, key=lambda i: i[1].encode())
                    if got != want(delim):
                        t.ok(False, f"boto3 {op} delimiter {delim!r} by {size}", f"got {got}\nwant {want(delim)}")
                        break
                else:
                    t.ok(True, f"boto3 {op} paginator{' delimiter /' if delim else ''}: pages of 1, 3 "
                               f"and 1000 give the byte-ordered listing (keys url-decoded by botocore)")
        r = s3.list_objects_v2(Bucket=BUCKET, Prefix="tree/c", FetchOwner=True)
        t.ok(r["KeyCount"] == 1 and r["Contents"][0]["StorageClass"] == "STANDARD" and
             r["Contents"][0]["Size"] == len(b"tree/c") and r["Contents"][0].get("Owner"),
             "boto3 list_objects_v2: KeyCount, StorageClass, Size, Owner with FetchOwner")
        r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:8]]})
        t.ok(sorted(d["Key"] for d in r.get("Deleted", [])) == sorted(keys[:8]) and not r.get("Errors"),
             "boto3 delete_objects: every key Deleted", str(r.get("Deleted")))
        r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[8:] + ["tree/none"]],
                                                     "Quiet": True})
        t.ok(not r.get("Deleted") and not r.get("Errors"), "boto3 delete_objects Quiet: nothing reported")
        r = s3.list_objects_v2(Bucket=BUCKET, Prefix="tree/")
        t.eq(r["KeyCount"], 0, "after delete_objects the prefix is empty")
    step("listings and delete_objects", listings)

    def options():
        body = data(70000, "sse")
        r = s3.put_object(Bucket=BUCKET, Key="opt/kms.bin", Body=body, ServerSideEncryption="aws:kms",
                          Metadata={"owner": "ops"}, ContentType="image/png", StorageClass="STANDARD_IA")
        t.ok(r["ETag"] != s3_etag(body) and len(r["ETag"]) == 34 and r["ServerSideEncryption"] == "aws:kms" and
             r.get("SSEKMSKeyId"), "boto3 put_object SSE-KMS: an ETag that is not the MD5, the key id")
        g = s3.get_object(Bucket=BUCKET, Key="opt/kms.bin")
        t.ok(g["Body"].read() == body and g["ETag"] == r["ETag"] and g["Metadata"] == {"owner": "ops"} and
             g["ContentType"] == "image/png" and g["StorageClass"] == "STANDARD_IA" and
             g["ServerSideEncryption"] == "aws:kms",
             "boto3 get_object SSE-KMS: the bytes, metadata, type, storage class, encryption")
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"boto3-kms-{os.getpid()}")
        try:
            s3.download_file(BUCKET, "opt/kms.bin", path)
            with open(path, "rb") as f:
                t.ok(f.read() == body, "boto3 download_file of an SSE-KMS object copes with its non-MD5 ETag")
        finally:
            if os.path.exists(path):
                os.unlink(path)
        r = s3.put_object(Bucket=BUCKET, Key="opt/crc32.bin", Body=body, ChecksumAlgorithm="CRC32")
        t.ok(r.get("ChecksumCRC32"), "boto3 put_object ChecksumAlgorithm CRC32: echoed")
        g = s3.get_object(Bucket=BUCKET, Key="opt/crc32.bin", ChecksumMode="ENABLED")
        t.ok(g["Body"].read() == body and g.get("ChecksumCRC32") == r.get("ChecksumCRC32"),
             "boto3 get_object ChecksumMode ENABLED: the stored CRC32, validated by botocore")
        arch = s3.put_object(Bucket=BUCKET, Key="opt/glacier.bin", Body=b"cold", StorageClass="GLACIER")
        t.ok(arch["ResponseMetadata"]["HTTPStatusCode"] == 200, "boto3 put_object StorageClass GLACIER")
        expect_error("boto3 get_object of a GLACIER object: 403 InvalidObjectState",
                     lambda: s3.get_object(Bucket=BUCKET, Key="opt/glacier.bin"), "InvalidObjectState", 403)
        t.eq(s3.head_object(Bucket=BUCKET, Key="opt/glacier.bin")["StorageClass"], "GLACIER",
             "boto3 head_object of a GLACIER object: 200, StorageClass GLACIER")
    step("object options", options)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        t.ok(False, "test harness", f"raised {type(e).__name__}: {e}")
    t.done()
