"""s3cases - the S3 upload checks that run against every S3 server we test
(a real Ceph RGW, ossemu's S3 dialect): hoist uploads a file, boto3 reads it
back, and the bytes and the ETag are checked against values computed here,
independently of hoist (hashlib only).

What it owns: the expected-ETag formula (plain MD5 for one PutObject,
MD5 of the concatenated 16-byte part digests "-N" for a multipart upload),
a boto3 client for a loopback endpoint, and one TAP-reporting upload case.
Used by tests/integration/test_s3_rgw.py and test_s3_ossemu.py; importable
once tests/lib and this directory are on sys.path.
"""
import hashlib
import os
import subprocess
import time

import boto3
import botocore
from botocore.config import Config

from hoisttest import HOIST

MiB = 1 << 20
S3_MIN_PART = 5 * MiB
# hoist.h: part_size 0 means 8 MiB (grown only past 10,000 parts).
HOIST_DEFAULT_PART = 8 * MiB


def isolate_env(home):
    """Keeps the caller's AWS settings out of hoist and boto3: no profile,
    no session token, no ~/.aws (HOME is a fresh directory; hoist's resume
    journal lands there too)."""
    for k in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
              "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE",
              "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.pop(k, None)
    os.environ["HOME"] = home
    os.environ.pop("XDG_CACHE_HOME", None)


def client(endpoint, ak, sk, region="us-east-1"):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=ak, aws_secret_access_key=sk,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 2}, connect_timeout=10, read_timeout=120))


def error_code(fn):
    """The S3 error code fn() raised, or None when it succeeded."""
    try:
        fn()
        return None
    except botocore.exceptions.ClientError as e:
        return e.response.get("Error", {}).get("Code") or str(e.response["ResponseMetadata"]["HTTPStatusCode"])


def part_digests(path, part_size):
    """The raw 16-byte MD5 of each part of the file cut at part_size."""
    out = []
    with open(path, "rb") as f:
        while True:
            h = hashlib.md5()
            left = part_size
            while left:
                b = f.read(min(left, MiB))
                if not b:
                    break
                h.update(b)
                left -= len(b)
            if left == part_size and out:
                return out
            out.append(h.digest())
            if left:
                return out


def multipart_etag(digests):
    return hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(digests)}"


def expected_etags(path, part_size):
    """ETags a correct upload of path at part_size may have.  More than one
    part: exactly the multipart formula.  One part: hoist may send a plain
    PutObject (ETag = MD5 of the bytes) or a one-part multipart ("-1")."""
    d = part_digests(path, part_size)
    if len(d) > 1:
        return {multipart_etag(d)}
    return {d[0].hex(), multipart_etag(d)}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def read_back(s3, bucket, key):
    """(sha256 hex, length) of the object as boto3 GETs it."""
    r = s3.get_object(Bucket=bucket, Key=key)
    h = hashlib.sha256()
    n = 0
    for chunk in r["Body"].iter_chunks(MiB):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def run_hoist(args, ak, sk, timeout=180, stdin_from=None):
    """stdin_from: a file piped in through cat (a stream, not a seekable fd)."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
    t0 = time.monotonic()
    src = subprocess.Popen(["cat", stdin_from], stdout=subprocess.PIPE) if stdin_from else None
    try:
        p = subprocess.run([HOIST, *args], env=env, capture_output=True, text=True,
                           timeout=timeout, stdin=src.stdout if src else None)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0
    except FileNotFoundError:
        return 127, "", f"{HOIST}: not built", 0.0
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return -1, out, err + f"\n(timed out after {timeout} s)", float(timeout)
    finally:
        if src:
            src.stdout.close()
            src.wait()


def hoist_cp_args(path, bucket, key, endpoint, jobs, part_size=None, path_style=False,
                  region="us-east-1"):
    a = ["cp", path, f"s3://{bucket}/{key}", "--endpoint", endpoint, "--region", region,
         "--jobs", str(jobs)]
    if part_size:
        a += ["--part-size", str(part_size)]
    if path_style:
        a += ["--path-style"]
    return a


def upload_case(t, s3, endpoint, bucket, key, path, size, part_size, jobs, ak, sk,
                path_style=False, timeout=180, expect_part=None, stream=False):
    """hoist cp path to s3://bucket/key, then three TAP lines: the upload
    succeeded, the bytes read back equal (sha256), the HEAD ETag is the one
    computed here.  part_size None: hoist's default (HOIST_DEFAULT_PART).
    expect_part: the part size hoist must actually use, when it differs from
    the one asked for (S3 raises a smaller one to 5 MiB).  Deletes the
    object afterwards (memory-backed servers)."""
    name = f"{size} B, --jobs {jobs}" + (f", --part-size {part_size}" if part_size else "") + \
        (", --path-style" if path_style else "") + (", a stream through a pipe" if stream else "")
    rc, out, err, secs = run_hoist(
        hoist_cp_args("-" if stream else path, bucket, key, endpoint, jobs, part_size, path_style),
        ak, sk, timeout, stdin_from=path if stream else None)
    rate = f", {size / MiB / secs:.0f} MiB/s" if secs > 0 and size >= 16 * MiB else ""
    print(f"# hoist cp {name}: exit {rc} in {secs:.2f} s{rate}", flush=True)
    t.ok(rc == 0, f"hoist cp {name}: exit 0",
         f"exit {rc}\nstdout: {out[-1500:]}\nstderr: {err[-1500:]}")
    try:
        got_sha, got_len = read_back(s3, bucket, key)
        want_sha = sha256_file(path)
        t.ok(got_sha == want_sha and got_len == size, f"{name}: bytes read back equal (sha256)",
             f"got {got_len} B sha256 {got_sha}\nwant {size} B sha256 {want_sha}")
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        want = expected_etags(path, expect_part or part_size or HOIST_DEFAULT_PART)
        t.ok(etag in want, f"{name}: HEAD ETag is MD5-of-part-digests-N",
             f"got:  {etag}\nwant: {' or '.join(sorted(want))}")
    except botocore.exceptions.ClientError as e:
        code = e.response.get("Error", {}).get("Code")
        t.ok(False, f"{name}: bytes read back equal (sha256)", f"GET failed: {code}")
        t.ok(False, f"{name}: HEAD ETag is MD5-of-part-digests-N", f"no object: {code}")
    error_code(lambda: s3.delete_object(Bucket=bucket, Key=key))


def wrong_secret_case(t, endpoint, bucket, path, ak, sk, path_style=False):
    """A wrong secret: hoist exits non-zero and its stderr names
    SignatureDoesNotMatch; neither secret shows in its output."""
    bad = "x" + sk[1:] if sk[0] != "x" else "y" + sk[1:]
    rc, out, err, _ = run_hoist(hoist_cp_args(path, bucket, "wrong-secret", endpoint, 4,
                                              path_style=path_style), ak, bad, 60)
    t.ok(rc != 0 and "SignatureDoesNotMatch" in err,
         "wrong secret: non-zero exit, stderr names SignatureDoesNotMatch",
         f"exit {rc}\nstderr: {err[-1500:]}")
    t.ok(bad not in out + err, "wrong secret: the secret is not printed")
