#!/usr/bin/python3
"""Download one object with the AWS CRT S3 client (aws-c-s3's auto-ranged GET,
via Debian's python3-awscrt 0.16.x).

usage: /usr/bin/python3 crt-download.py s3://BUCKET/KEY FILE [--host 127.0.0.1]
                                        [--part-size BYTES] [--throughput-gbps 10] [--region us-east-1]
Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (static provider).
Prints one JSON line: {"seconds", "bytes", "status", "part_size"}.

The same constraints as crt-upload.py (see there): /usr/bin/python3, the server on
127.0.0.1:80 (0.16.x dials port 80 whatever the Host header says), 10 connections,
path style /BUCKET/KEY.  GET_OBJECT splits the object into part-size ranged GETs
itself; each body chunk is written at its offset in FILE (on_body: 0.16's
recv_filepath left the file empty here).
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
    ap.add_argument("src")
    ap.add_argument("file")
    crtclient.add_options(ap)
    a = ap.parse_args()
    bucket, key = crtclient.split_url(ap, a.src, "src")
    client = crtclient.client(a)
    req = HttpRequest("GET", f"/{bucket}/{key}", HttpHeaders([("Host", a.host)]))
    done = threading.Event()
    result = {}

    def on_headers(status_code, headers, **kw):
        result["status"] = status_code

    out = open(a.file, "wb")

    def on_body(chunk, offset, **kw):
        # Parts arrive out of order, each with its offset in the object.
        out.seek(offset)
        out.write(chunk)

    def on_done(error=None, error_headers=None, error_body=None, **kw):
        result["error"] = error
        result["error_body"] = error_body
        done.set()

    t0 = time.perf_counter()
    client.make_request(request=req, type=S3RequestType.GET_OBJECT,
                        on_headers=on_headers, on_body=on_body, on_done=on_done)
    done.wait()
    out.close()
    dt = time.perf_counter() - t0
    if result.get("error"):
        body = result.get("error_body") or b""
        print(f"crt-download: FAILED: {result['error']} {body[:300]!r}", file=sys.stderr)
        return 1
    print(json.dumps({"seconds": round(dt, 6), "bytes": os.path.getsize(a.file),
                      "status": result.get("status"), "part_size": a.part_size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
