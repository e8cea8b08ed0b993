#!/usr/bin/python3
"""Upload one file with the AWS CRT S3 client (aws-c-s3, via Debian's python3-awscrt 0.16.x).

usage: /usr/bin/python3 crt-upload.py FILE s3://BUCKET/KEY [--host 127.0.0.1]
                                      [--part-size BYTES] [--throughput-gbps 10] [--region us-east-1]
Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (static provider).
Prints one JSON line: {"seconds", "bytes", "status", "part_size"}.

Why this shape (python3-awscrt 0.16.8, the version Debian 12 ships):
- It must run with /usr/bin/python3: the package lives in /usr/lib/python3/dist-packages.
- 0.16.x has no endpoint or port option: the CRT dials the host named in the Host header
  on port 80 when TLS is off, whatever port the header carries.  So the server must listen
  on 127.0.0.1:80 (the harness starts a second ossemu there when it can bind it).
- It opens 10 connections per resolved address (so 10 for 127.0.0.1) whatever the
  throughput target; there is no concurrency knob, and no checksum option.
- The payload is signed UNSIGNED-PAYLOAD (SigV4), path style /BUCKET/KEY.
"""
import argparse
import json
import os
import sys
import threading
import time

from awscrt.http import HttpHeaders, HttpRequest
from awscrt.s3 import S3RequestType

import crtclient


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("dest")
    crtclient.add_options(ap)
    a = ap.parse_args()
    bucket, key = crtclient.split_url(ap, a.dest, "dest")
    client = crtclient.client(a)
    size = os.path.getsize(a.file)
    hdrs = HttpHeaders([("Host", a.host), ("Content-Length", str(size)),
                        ("Content-Type", "application/octet-stream")])
    req = HttpRequest("PUT", f"/{bucket}/{key}", hdrs)
    done = threading.Event()
    result = {}

    def on_headers(status_code, headers, **kw):
        result["status"] = status_code

    def on_done(error=None, error_headers=None, error_body=None, **kw):
        result["error"] = error
        result["error_body"] = error_body
        done.set()

    t0 = time.perf_counter()
    client.make_request(request=req, type=S3RequestType.PUT_OBJECT, send_filepath=a.file,
                        on_headers=on_headers, on_done=on_done)
    done.wait()
    dt = time.perf_counter() - t0
    if result.get("error"):
        body = result.get("error_body") or b""
        print(f"crt-upload: FAILED: {result['error']} {body[:300]!r}", file=sys.stderr)
        return 1
    print(json.dumps({"seconds": round(dt, 6), "bytes": size, "status": result.get("status"),
                      "part_size": a.part_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
