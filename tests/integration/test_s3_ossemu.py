#!/usr/bin/python3
"""test_s3_ossemu - hoist's S3 dialect against ossemu's S3 dialect: the
same checks as test_s3_rgw.py (tests/rgw/s3cases.py), at smaller sizes.

`hoist cp FILE s3://BUCKET/KEY` for 0 B, 1 B, 5 MiB-1, 5 MiB, 3 parts + 7 B
(5 MiB parts) and 64 MiB (hoist's default part size; 24 MiB under the
sanitizers), --jobs 1 and 64, and --part-size 1 MiB (must become S3's
5 MiB minimum).  Each object is read back with boto3 (SigV4,
same keys) and compared by sha256; its HEAD ETag must be the S3 one computed
here (MD5 of the part digests "-N", or the plain MD5 of a single PUT).  A
wrong secret must make hoist name SignatureDoesNotMatch.
"""
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "lib"), os.path.join(HERE, "..", "rgw")]

import shutil  # noqa: E402
import tempfile  # noqa: E402

from hoisttest import SLOW, Ossemu, Tap, make_file  # noqa: E402
import s3cases as S  # noqa: E402

MiB = S.MiB
BUCKET = "hoist-s3"
AK = "HOISTOSSEMUKEY000001"
SK = "ossemuS3Secret00000000000000000000000001"


def cases(t, srv, tmp):
    ep = srv.url
    s3 = S.client(ep, AK, SK)
    body = os.urandom(1000)
    code = S.error_code(lambda: s3.put_object(Bucket=BUCKET, Key="infra/small", Body=body))
    got = s3.get_object(Bucket=BUCKET, Key="infra/small")["Body"].read() if code is None else b""
    t.ok(got == body, "boto3: put/get 1000 B through ossemu's S3 dialect",
         f"error {code}, {len(got)} B back")

    P = S.S3_MIN_PART
    big = (24 if SLOW else 64) * MiB
    sizes = [("0B", 0, P), ("1B", 1, P), ("5MiB-1", 5 * MiB - 1, P), ("5MiB", 5 * MiB, P),
             ("3x5MiB+7", 3 * 5 * MiB + 7, P), ("big", big, None)]
    files = {label: make_file(os.path.join(tmp, f"in-{label}"), size, seed=200 + i)
             for i, (label, size, _) in enumerate(sizes)}
    for jobs in (1, 64):
        for label, size, part in sizes:
            if label == "0B" and jobs != 1:
                continue
            S.upload_case(t, s3, ep, BUCKET, f"hoist/{label}-j{jobs}", files[label], size, part,
                          jobs, AK, SK, path_style=(jobs == 64))
    # S3 forbids parts under 5 MiB but the last (RGW: EntityTooSmall at
    # Complete): a smaller --part-size must be raised to 5 MiB.
    S.upload_case(t, s3, ep, BUCKET, "hoist/small-part-size", files["3x5MiB+7"], 3 * 5 * MiB + 7,
                  MiB, 8, AK, SK, expect_part=P)
    S.wrong_secret_case(t, ep, BUCKET, files["1B"], AK, SK)
    code = S.error_code(lambda: s3.head_object(Bucket=BUCKET, Key="wrong-secret"))
    t.ok(code is not None, "wrong secret: no object was created", f"HEAD answered {code}")
    left = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    t.ok(not left, "no multipart upload left open in the bucket",
         "\n".join(f"{u['Key']} {u['UploadId']}" for u in left))


def main():
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="test-s3-ossemu-")
    S.isolate_env(os.path.join(tmp, "home"))
    os.makedirs(os.environ["HOME"])
    try:
        try:
            srv = Ossemu(buckets=[BUCKET], keys=[f"{AK}:{SK}"])
        except (OSError, RuntimeError) as e:
            t.ok(False, "ossemu starts", repr(e))
            return t
        with srv:
            t.ok(True, f"ossemu starts ({srv.url})")
            try:
                cases(t, srv, tmp)
            except Exception:  # noqa: BLE001 - reported as a failure, not a crash
                t.ok(False, "the cases ran to the end",
                     traceback.format_exc() + "\nossemu stderr:\n" + srv.stderr()[-2000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t


if __name__ == "__main__":
    main().done()
