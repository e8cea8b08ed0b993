#!/usr/bin/python3
"""test_s3_rgw - hoist's S3 dialect against a real S3 server we did not
write: a single-node Ceph RADOS Gateway brought up on loopback by
tests/rgw/rgw-up.sh (and always stopped by rgw-down.sh).

First the server itself is proven with boto3 alone (put/get, a 3-part
multipart upload whose HEAD ETag is MD5-of-part-digests-3, EntityTooSmall,
a wrong secret), so a failure below is hoist's, not the infrastructure's.
Then `hoist cp FILE s3://BUCKET/KEY` for 0 B, 1 B, 5 MiB-1, 5 MiB,
3 parts + 7 B (5 MiB parts) and 200 MiB (hoist's default part size), with
--jobs 1 and 64, once with --part-size 1 MiB (must become S3's 5 MiB
minimum), and 1 B and 3 parts + 7 B as streams through a pipe; each object is read back with boto3 and compared by sha256, and
its HEAD ETag compared with the one computed here.  A wrong
secret must make hoist name SignatureDoesNotMatch.  Then (tests/rgw/
rgwmore.py) downloads, cp -r both ways, ls/stat/rm -r, each checked with
boto3, and RGW's refusal of a key with a NUL byte.  If RGW does not come
up, that is a failure, never a skip.

Plain suite only (a minute of a real Ceph is too much to repeat under
ASan/TSan, and RGW is not what the sanitizers check).
"""
import os
import sys

if os.environ.get("HOIST_SUITE") in ("asan", "tsan"):
    print("ok 1 - # SKIP rgw runs in the plain suite only")
    print("1..1")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "lib"), os.path.join(HERE, "..", "rgw")]

import hashlib  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from hoisttest import TOP, Tap, make_file  # noqa: E402
import s3cases as S  # noqa: E402
import rgwmore  # noqa: E402

MiB = S.MiB
UP = os.path.join(TOP, "tests", "rgw", "rgw-up.sh")
DOWN = os.path.join(TOP, "tests", "rgw", "rgw-down.sh")
BUCKET = "hoist-s3"


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                env[k] = v.strip("'")
    return env


def infrastructure(t, s3, bad_s3):
    """RGW alone, through boto3: what the hoist cases rely on."""
    code = S.error_code(lambda: s3.create_bucket(Bucket=BUCKET))
    t.ok(code is None, "boto3: CreateBucket", f"error {code}")

    small = os.urandom(1000)
    code = S.error_code(lambda: s3.put_object(Bucket=BUCKET, Key="infra/small", Body=small))
    got = s3.get_object(Bucket=BUCKET, Key="infra/small")["Body"].read() if code is None else b""
    etag = s3.head_object(Bucket=BUCKET, Key="infra/small")["ETag"].strip('"') if code is None else ""
    t.ok(got == small and etag == hashlib.md5(small).hexdigest(),
         "boto3: put/get 1000 B, ETag = MD5", f"error {code}, {len(got)} B back, ETag {etag}")

    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(7)]
    want = S.multipart_etag([hashlib.md5(p).digest() for p in parts])
    detail = ""
    try:
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="infra/mp")["UploadId"]
        done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket=BUCKET, Key="infra/mp", UploadId=up,
                                                         PartNumber=i, Body=p)["ETag"]}
                for i, p in enumerate(parts, 1)]
        r = s3.complete_multipart_upload(Bucket=BUCKET, Key="infra/mp", UploadId=up,
                                         MultipartUpload={"Parts": done})
        # RGW 16 answers Complete with an empty <ETag>: hoist must HEAD.
        print(f"# RGW Complete ETag: {r.get('ETag')!r}", flush=True)
        etag = s3.head_object(Bucket=BUCKET, Key="infra/mp")["ETag"].strip('"')
        body = s3.get_object(Bucket=BUCKET, Key="infra/mp")["Body"].read()
        ok = etag == want and body == b"".join(parts)
        detail = f"HEAD ETag {etag}, want {want}; {len(body)} B back"
    except Exception as e:  # noqa: BLE001 - any failure is the case's failure
        ok, detail = False, repr(e)
    t.ok(ok, "boto3: 3-part multipart, HEAD ETag = MD5-of-part-digests-3, bytes equal", detail)

    up = s3.create_multipart_upload(Bucket=BUCKET, Key="infra/small-parts")["UploadId"]
    done = [{"PartNumber": i, "ETag": s3.upload_part(Bucket=BUCKET, Key="infra/small-parts",
                                                     UploadId=up, PartNumber=i, Body=b"z" * 1000)["ETag"]}
            for i in (1, 2)]
    code = S.error_code(lambda: s3.complete_multipart_upload(
        Bucket=BUCKET, Key="infra/small-parts", UploadId=up, MultipartUpload={"Parts": done}))
    t.eq(code, "EntityTooSmall", "boto3: a 1000 B non-last part -> EntityTooSmall")
    S.error_code(lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key="infra/small-parts", UploadId=up))

    code = S.error_code(lambda: bad_s3.put_object(Bucket=BUCKET, Key="infra/bad", Body=b"x"))
    t.eq(code, "SignatureDoesNotMatch", "boto3: wrong secret -> SignatureDoesNotMatch")
    for k in ("infra/small", "infra/mp"):
        S.error_code(lambda: s3.delete_object(Bucket=BUCKET, Key=k))


def hoist_cases(t, s3, ep, ak, sk, tmp):
    P = S.S3_MIN_PART
    files = {}
    sizes = [("0B", 0, P), ("1B", 1, P), ("5MiB-1", 5 * MiB - 1, P), ("5MiB", 5 * MiB, P),
             ("3x5MiB+7", 3 * 5 * MiB + 7, P), ("200MiB", 200 * MiB, None)]
    for i, (label, size, _) in enumerate(sizes):
        files[label] = make_file(os.path.join(tmp, f"in-{label}"), size, seed=100 + i)
    for jobs in (1, 64):
        for label, size, part in sizes:
            if label == "0B" and jobs != 1:
                continue
            S.upload_case(t, s3, ep, BUCKET, f"hoist/{label}-j{jobs}", files[label], size, part,
                          jobs, ak, sk, path_style=(jobs == 64))
    # S3 forbids parts under 5 MiB but the last (RGW: EntityTooSmall at
    # Complete): a smaller --part-size must be raised to 5 MiB.
    S.upload_case(t, s3, ep, BUCKET, "hoist/small-part-size", files["3x5MiB+7"], 3 * 5 * MiB + 7,
                  MiB, 8, ak, sk, expect_part=P)
    # Streams (`cat FILE | hoist cp -`): one PutObject within a part,
    # multipart beyond.
    for label in ("1B", "3x5MiB+7"):
        S.upload_case(t, s3, ep, BUCKET, f"hoist/stream-{label}", files[label],
                      os.path.getsize(files[label]), P, 8, ak, sk, stream=True)
    S.wrong_secret_case(t, ep, BUCKET, files["1B"], ak, sk)
    code = S.error_code(lambda: s3.head_object(Bucket=BUCKET, Key="wrong-secret"))
    t.ok(code is not None, "wrong secret: no object was created", f"HEAD answered {code}")
    left = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    t.ok(not left, "no multipart upload left open in the bucket",
         "\n".join(f"{u['Key']} {u['UploadId']}" for u in left))


def main():
    t = Tap()
    t0 = time.monotonic()
    os.makedirs(os.path.join(TOP, "build"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="test-s3-rgw-", dir=os.path.join(TOP, "build"))
    rgwdir = os.path.join(tmp, "rgw")
    S.isolate_env(os.path.join(tmp, "home"))
    os.makedirs(os.environ["HOME"])
    try:
        p = subprocess.run(["bash", UP, rgwdir], capture_output=True, text=True, timeout=400)
        for line in p.stderr.splitlines()[-8:] if p.returncode == 0 else []:
            print(f"# {line}", flush=True)
        print(f"# bring-up: {time.monotonic() - t0:.1f} s", flush=True)
        if not t.ok(p.returncode == 0, "RGW comes up (tests/rgw/rgw-up.sh)",
                    f"exit {p.returncode}\n" + "\n".join(p.stderr.splitlines()[-38:])):
            return t
        env = read_env(os.path.join(rgwdir, "env"))
        ep, ak, sk = env["RGW_ENDPOINT"], env["RGW_ACCESS_KEY"], env["RGW_SECRET_KEY"]
        s3 = S.client(ep, ak, sk)
        try:
            infrastructure(t, s3, S.client(ep, ak, "wrong" + sk[5:]))
            hoist_cases(t, s3, ep, ak, sk, tmp)
            t1 = time.monotonic()
            rgwmore.download_cases(t, s3, ep, BUCKET, ak, sk, tmp)
            t2 = time.monotonic()
            pre, _ = rgwmore.tree_cases(t, s3, ep, BUCKET, ak, sk, tmp)
            rgwmore.objcmd_cases(t, s3, ep, BUCKET, ak, sk, pre)
            rgwmore.nul_case(t, s3, BUCKET)
            print(f"# downloads {t2 - t1:.1f} s, trees and ls/stat/rm {time.monotonic() - t2:.1f} s",
                  flush=True)
        except Exception:  # noqa: BLE001 - reported as a failure, not a crash
            t.ok(False, "the cases ran to the end", traceback.format_exc())
    finally:
        d = subprocess.run(["sh", DOWN, rgwdir], capture_output=True, text=True, timeout=120)
        if d.returncode != 0:
            print(f"# rgw-down: {d.stderr.strip()}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"# wall time: {time.monotonic() - t0:.1f} s", flush=True)
    return t


if __name__ == "__main__":
    main().done()
