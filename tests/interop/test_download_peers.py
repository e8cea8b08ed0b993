#!/usr/bin/python3
"""test_download_peers - interop: objects made by other clients, read back by
hoist's download (issue 15).

boto3 (the real AWS SDK for Python) puts objects over S3: a single PUT
(its ETag is the MD5: hoist checks it when the object is one range,
verified "get_md5"), a single PUT
under SSE-KMS (the ETag is not the MD5: it must not fail the download,
verified "none"), and a multipart upload in 5 MiB parts ("get_parts_md5":
fetched by ?partNumber, the parts' MD5s make its ETag).  ali-oss (the real Alibaba OSS
Node client) puts a small object and a multipartUpload over OSS, which hoist
checks against x-oss-hash-crc64ecma ("get_crc64").  Every object is
downloaded by hoist to a file and to standard output at several range
sizes and compared byte for byte with what the peer put.  ali-oss needs
build/node (make deps); without it those cases are skipped with a note.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import hoisttest  # noqa: E402

hoisttest.hermetic_aws_env()

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from hoisttest import HOIST, TOP, Ossemu, Tap, crc64  # noqa: E402

AK, SK = "peerak", "peer-secret-0123456789"
MIB = 1024 * 1024
NODE_MODULES = os.environ.get("NODE_PATH") or os.path.join(TOP, "build", "node", "node_modules")
t = Tap()


def data(n, seed):
    h = hashlib.sha256(b"seed%d" % seed).digest()
    block = (h * (65536 // len(h) + 1))[:65536]
    out = bytearray()
    i = 0
    while len(out) < n:
        out += bytes((b + i) & 0xFF for b in block[:256]) * 256
        i += 1
    return bytes(out[:n])


def hoist_get(srv, scheme, key, dest, *args):
    env = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK,
               AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
    p = subprocess.run([HOIST, "cp", "%s://peers/%s" % (scheme, key), dest, "--endpoint", srv.url,
                        "--json", *args], env=env, capture_output=True, timeout=300)
    text = (p.stderr if dest == "-" else p.stdout).decode(errors="replace")
    js = None
    for line in text.splitlines():
        if line.startswith("{"):
            js = json.loads(line)
    return p, js


def check_all(srv, scheme, key, body, verified, name, d):
    """verified "get_md5" holds only when the object is one range (its
    bytes then arrive in order); with more ranges S3 offers nothing."""
    want = verified
    for rs in ("100K", "1M", "8M"):
        verified = want if want != "get_md5" or rs == "8M" else "none"
        out = os.path.join(d, "out")
        p, js = hoist_get(srv, scheme, key, out, "--part-size", rs)
        got = open(out, "rb").read() if os.path.exists(out) else None
        t.ok(p.returncode == 0 and got == body, "%s, ranges of %s: to a file, byte for byte" % (name, rs),
             p.stderr.decode(errors="replace")[-400:])
        t.ok(js and js["verified"] == verified and js["crc64"] == crc64(body),
             "%s, ranges of %s: verified %s, CRC64 as crcmod computes it" % (name, rs, verified),
             js)
        if os.path.exists(out):
            os.unlink(out)
    p, js = hoist_get(srv, scheme, key, "-", "--part-size", "1M")
    t.ok(p.returncode == 0 and p.stdout == body, "%s: to standard output, in order" % name,
         p.stderr.decode(errors="replace")[-400:])


ALIOSS_PUT = r"""
'use strict';
const OSS = require('ali-oss');
const fs = require('fs');
const [url, small, big] = process.argv.slice(2);
const c = new OSS({ refreshSTSTokenInterval: 3600000, endpoint: url, bucket: 'peers',
  accessKeyId: '%s', accessKeySecret: '%s', region: 'oss-cn-hangzhou', sldEnable: true,
  secure: false, timeout: 30000 });
(async () => {
  await c.put('ali/small', fs.readFileSync(small));
  await c.multipartUpload('ali/multi', big, { parallel: 4, partSize: 1024 * 1024 });
  console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });
""" % (AK, SK)

d = tempfile.mkdtemp(prefix="hoist-dlpeers-")
try:
    with Ossemu(buckets=["peers"], keys=["%s:%s" % (AK, SK)]) as srv:
        cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        s3 = boto3.session.Session(aws_access_key_id=AK, aws_secret_access_key=SK,
                                   region_name="us-east-1").client("s3", endpoint_url=srv.url, config=cfg)

        one = data(3 * MIB + 7, 1)
        s3.put_object(Bucket="peers", Key="boto/put", Body=one)
        check_all(srv, "s3", "boto/put", one, "get_md5", "boto3 put_object", d)
        check_all(srv, "oss", "boto/put", one, "get_crc64", "boto3 put_object, read over OSS", d)

        kms = data(2 * MIB + 1, 2)
        r = s3.put_object(Bucket="peers", Key="boto/kms", Body=kms, ServerSideEncryption="aws:kms")
        t.ok(r["ETag"].strip('"') != hashlib.md5(kms).hexdigest(), "SSE-KMS: the ETag is not the MD5")
        check_all(srv, "s3", "boto/kms", kms, "none", "boto3 put_object under SSE-KMS", d)

        big = data(12 * MIB + 5, 3)
        mp = s3.create_multipart_upload(Bucket="peers", Key="boto/multi")
        parts = []
        for i in range(0, len(big), 5 * MIB):
            n = len(parts) + 1
            pr = s3.upload_part(Bucket="peers", Key="boto/multi", UploadId=mp["UploadId"], PartNumber=n,
                                Body=big[i:i + 5 * MIB])
            parts.append({"PartNumber": n, "ETag": pr["ETag"]})
        s3.complete_multipart_upload(Bucket="peers", Key="boto/multi", UploadId=mp["UploadId"],
                                     MultipartUpload={"Parts": parts})
        check_all(srv, "s3", "boto/multi", big, "get_parts_md5", "boto3 multipart upload", d)

        if os.path.isdir(os.path.join(NODE_MODULES, "ali-oss")) and shutil.which("node"):
            small = data(100 * 1024 + 3, 4)
            multi = data(5 * MIB + 11, 5)
            for name, b in (("small", small), ("multi", multi)):
                with open(os.path.join(d, name), "wb") as f:
                    f.write(b)
            js = os.path.join(d, "put.js")
            with open(js, "w") as f:
                f.write(ALIOSS_PUT)
            p = subprocess.run(["node", js, srv.url, os.path.join(d, "small"), os.path.join(d, "multi")],
                               env=dict(os.environ, NODE_PATH=NODE_MODULES), capture_output=True,
                               text=True, timeout=120)
            if t.ok(p.returncode == 0, "ali-oss put and multipartUpload", p.stderr[-800:]):
                check_all(srv, "oss", "ali/small", small, "get_crc64", "ali-oss put", d)
                check_all(srv, "oss", "ali/multi", multi, "get_crc64", "ali-oss multipartUpload", d)
        else:
            print("# ali-oss not installed (make deps): its cases skipped", flush=True)
finally:
    shutil.rmtree(d, ignore_errors=True)
t.done()
