#!/usr/bin/python3
"""test_awscli - interop: Debian's aws-cli v2 (/usr/bin/aws) against a real
ossemu in the S3 dialect.

What it owns: a 20 MiB `aws s3 cp` upload with 5 MiB multipart chunks (4
parts, 4 concurrent requests), the download back (`aws s3 cp` again, which
uses ranged GETs for a file this size), `s3api head-object`, and `aws s3 rm`.
The bytes are compared with the source file, and the ETag with
MD5(concatenated raw part digests)-4 computed here with hashlib.
Single-threaded (aws runs as a child process).

Run with Debian's /usr/bin/python3.  /usr/bin/aws is used explicitly: an
older `aws` may come first on PATH.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from hoisttest import Ossemu, Tap, make_file  # noqa: E402

AWS = "/usr/bin/aws"
BUCKET = "interop"
AK = "interopak"
SK = "interop-secret-0123456789"
MIB = 1024 * 1024
SIZE = 20 * MIB
CHUNK = 5 * MIB  # aws-cli's "5MB" is 5 MiB

CONFIG = """[default]
region = us-east-1
s3 =
  addressing_style = path
  multipart_threshold = 8MB
  multipart_chunksize = 5MB
  max_concurrent_requests = 4
"""

t = Tap()


def aws_env(cfg):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update({
        "AWS_ACCESS_KEY_ID": AK,
        "AWS_SECRET_ACCESS_KEY": SK,
        "AWS_CONFIG_FILE": cfg,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    })
    return env


def main():
    if not t.ok(os.access(AWS, os.X_OK), f"{AWS} present (Debian awscli, installed by make deps)"):
        return
    with tempfile.TemporaryDirectory(prefix="awscli-") as tmp, \
            Ossemu(buckets=[BUCKET], keys=[f"{AK}:{SK}"]) as srv:
        cfg = os.path.join(tmp, "config")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        env = aws_env(cfg)

        def aws(*args):
            return subprocess.run([AWS, "--endpoint-url", srv.url, *args], env=env,
                                  capture_output=True, text=True, timeout=50)

        src = make_file(os.path.join(tmp, "src.bin"), SIZE, seed=7)
        with open(src, "rb") as f:
            blob = f.read()
        parts = [blob[i:i + CHUNK] for i in range(0, SIZE, CHUNK)]
        want = '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'

        r = aws("s3", "cp", "--only-show-errors", src, f"s3://{BUCKET}/cli/big.bin")
        t.eq(r.returncode, 0, "aws s3 cp upload (20 MiB, 5 MiB parts): exit 0")
        if r.returncode:
            print("# " + r.stderr.strip().replace("\n", "\n# ")[:2000])

        r = aws("s3api", "head-object", "--bucket", BUCKET, "--key", "cli/big.bin")
        head = json.loads(r.stdout) if r.returncode == 0 else {}
        t.eq(head.get("ContentLength"), SIZE, "s3api head-object: ContentLength")
        t.eq(head.get("ETag"), want, "s3api head-object: ETag = MD5(concatenated part digests)-4")

        out = os.path.join(tmp, "back.bin")
        r = aws("s3", "cp", "--only-show-errors", f"s3://{BUCKET}/cli/big.bin", out)
        t.eq(r.returncode, 0, "aws s3 cp download: exit 0")
        got = open(out, "rb").read() if os.path.exists(out) else b""
        t.ok(got == blob, "aws s3 cp download: the same 20 MiB byte for byte",
             f"got {len(got)} bytes md5 {hashlib.md5(got).hexdigest()}, want {hashlib.md5(blob).hexdigest()}")

        r = aws("s3", "rm", "--only-show-errors", f"s3://{BUCKET}/cli/big.bin")
        t.eq(r.returncode, 0, "aws s3 rm: exit 0")
        r = aws("s3api", "head-object", "--bucket", BUCKET, "--key", "cli/big.bin")
        t.ok(r.returncode != 0 and "404" in r.stderr, "head-object after rm: 404", r.stderr[:300])

        t.eq(srv.stop(), 0, "ossemu exits 0 on SIGTERM")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        t.ok(False, "test harness", f"raised {type(e).__name__}: {e}")
    t.done()
