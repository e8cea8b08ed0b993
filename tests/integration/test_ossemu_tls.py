#!/usr/bin/env python3
"""ossemu over TLS (--tls-cert/--tls-key) with a self-signed certificate
made here by `openssl req -x509`: the first line says https, signed
requests work, a multipart upload reads back byte-exact, /-/stats answers
over TLS, and a plain-HTTP client gets no answer on the TLS port.
"""
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok, complete_body, xml_text  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="ossemu-tls-")
try:
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    t.eq(p.returncode, 0, "openssl made a self-signed certificate")
    ctx = ssl.create_default_context(cafile=cert)
    with Ossemu(buckets=["bkt"], keys=["ak:sk"], tls=(cert, key)) as srv:
        t.ok(srv.url.startswith("https://127.0.0.1:"), "first line: ossemu listening on https://...",
             srv.url)
        for scheme in ("v1", "v4", "s3"):
            c = Client(srv.url, scheme=scheme, ssl_context=ctx)
            data = os.urandom(70000)
            r = c.request("PUT", "bkt", f"tls/{scheme}", body=data)
            t.ok(r.status == 200 and r.header("x-oss-hash-crc64ecma") == str(crc64(data)),
                 f"{scheme} PutObject over TLS (certificate verified)")
            t.eq(c.request("GET", "bkt", f"tls/{scheme}").body, data, f"{scheme} GetObject over TLS")
        c = Client(srv.url, ssl_context=ctx)
        uid = xml_text(c.request("POST", "bkt", "tls/mp", query={"uploads": None}).body, "UploadId")
        p1, p2 = os.urandom(200000), os.urandom(5000)
        tags = [c.request("PUT", "bkt", "tls/mp", query={"partNumber": str(n), "uploadId": uid},
                          body=d).header("etag") for n, d in ((1, p1), (2, p2))]
        t.eq(tags, [f'"{hashlib.md5(d).hexdigest().upper()}"' for d in (p1, p2)],
             "UploadPart over TLS: MD5 ETags")
        r = c.request("POST", "bkt", "tls/mp", query={"uploadId": uid},
                      body=complete_body(list(zip((1, 2), tags))))
        t.ok(r.status == 200 and r.header("x-oss-hash-crc64ecma") == str(crc64(p1 + p2)),
             "Complete over TLS")
        t.eq(c.request("GET", "bkt", "tls/mp").body, p1 + p2, "multipart object over TLS byte-exact")
        with urllib.request.urlopen(srv.url + "/-/stats", context=ctx, timeout=10) as resp:
            st = json.loads(resp.read())
        t.ok(st["requests"]["uploadpart"]["200"] == 2, "/-/stats over TLS")
        plain = Client(srv.url.replace("https:", "http:"), timeout=5)
        try:
            ok = plain.request("GET", "bkt", "tls/v1").status != 200
        except Exception:
            ok = True
        t.ok(ok, "plain HTTP to the TLS port gets no object")
        ok, why = exit_ok(srv)
        t.ok(ok, "ossemu (TLS) exits 0 without sanitizer reports", why)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
