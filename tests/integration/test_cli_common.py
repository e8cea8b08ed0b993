"""test_cli_common - helpers the test_cli_*.py files share, and their own check.

Imported by the other test_cli_*.py files (they live in the same directory,
which Python puts on sys.path).  Run as a script (tests/run.sh runs every
tests/integration/*.py), it checks the helpers that stand in for an
independent implementation -- the OSS multipart ETag rule and the V1
signer used to make uploads behind hoist's back -- against the vectors of
the protocol brief, so a test never passes because its oracle shares a bug
with the code under test.

Everything here is independent of hoist's C code: hashlib, hmac, crcmod
(through hoisttest), urllib.
"""
import base64
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import *  # noqa: E402,F401,F403
import hoisttest  # noqa: E402

AK, SK = "ak", "sk"
MiB = 1 << 20

# Resume journals go to $XDG_CACHE_HOME/hoist by default: keep the tests'
# out of the user's cache, and remove them at exit.
_cache = tempfile.mkdtemp(prefix="hoist-cli-cache-")
os.environ["XDG_CACHE_HOME"] = _cache


def _drop_cache():
    import shutil
    shutil.rmtree(_cache, ignore_errors=True)


import atexit  # noqa: E402
atexit.register(_drop_cache)


def scaled(n, slow_n):
    """n normally, slow_n under the sanitizer suites."""
    return slow_n if hoisttest.SLOW else n


# ------------------------------------------------------------ independent oracles

_digest_cache = {}


def _cached(kind, path, fn):
    st = os.stat(path)
    k = (kind, path, st.st_size, st.st_mtime_ns, st.st_ino)
    if k not in _digest_cache:
        _digest_cache[k] = fn(path)
    return _digest_cache[k]


def file_crc64(path):
    """crcmod's CRC-64/XZ of a file (hoisttest.crc64_file), cached."""
    return _cached("crc64", path, crc64_file)


def file_sha256(path):
    return _cached("sha256", path, _file_sha256)


def _file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def oss_etag(path, part_size, parts):
    """The ETag OSS gives an object (brief section 4.3): for a PutObject the
    quoted uppercase MD5; for a multipart upload the MD5 of the
    concatenated uppercase-hex part MD5s, then -N."""
    if parts == 0:
        return '"' + hashlib.md5(open(path, "rb").read()).hexdigest().upper() + '"'
    cat = ""
    with open(path, "rb") as f:
        for _ in range(parts):
            cat += hashlib.md5(f.read(part_size)).hexdigest().upper()
    return '"' + hashlib.md5(cat.encode()).hexdigest().upper() + "-%d" % parts + '"'


def s3_etag(path, part_size, parts):
    """The ETag S3 gives an object: the quoted lowercase MD5 for a single
    PUT; for multipart the MD5 of the concatenated raw part digests, -N."""
    if parts == 0:
        return '"' + hashlib.md5(open(path, "rb").read()).hexdigest() + '"'
    cat = b""
    with open(path, "rb") as f:
        for _ in range(parts):
            cat += hashlib.md5(f.read(part_size)).digest()
    return '"' + hashlib.md5(cat).hexdigest() + "-%d" % parts + '"'


def v1_authorization(verb, bucket, key, subresource="", md5="", ctype="", date="",
                     oss_headers=None, ak=AK, sk=SK):
    """Authorization header of OSS V1 (brief section 7.1)."""
    canon_hdrs = ""
    for name in sorted((oss_headers or {}).keys(), key=str.lower):
        canon_hdrs += "%s:%s\n" % (name.lower(), oss_headers[name].strip())
    resource = "/%s/%s" % (bucket, key) if bucket else "/"
    if subresource:
        resource += "?" + subresource
    sts = "%s\n%s\n%s\n%s\n%s%s" % (verb, md5, ctype, date, canon_hdrs, resource)
    sig = base64.b64encode(hmac.new(sk.encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return "OSS %s:%s" % (ak, sig)


def oss_request(srv, verb, bucket, key, query="", subresource="", body=b"", ctype=""):
    """A V1-signed request to ossemu written without hoist: returns
    (status, headers, body)."""
    date = email.utils.formatdate(usegmt=True)
    if verb in ("PUT", "POST") and not ctype:
        # urllib would add a form Content-Type the signature must cover.
        ctype = "application/octet-stream"
    hdrs = {"Date": date, "Authorization": v1_authorization(
        verb, bucket, key, subresource, "", ctype, date)}
    if ctype:
        hdrs["Content-Type"] = ctype
    url = "%s/%s/%s" % (srv.url, bucket, quote(key, safe="/~"))
    if query:
        url += "?" + query
    req = urllib.request.Request(url, data=body if verb in ("PUT", "POST") else None,
                                 headers=hdrs, method=verb)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# ----------------------------------------------------------------- object access

def object_url(srv, bucket, key):
    return "%s/%s/%s" % (srv.url, bucket, quote(key, safe="/"))


def object_sha256(srv, bucket, key):
    """Anonymous GET (ossemu --anonymous), streamed: (sha256 hex, size)."""
    h = hashlib.sha256()
    n = 0
    with urllib.request.urlopen(object_url(srv, bucket, key), timeout=120) as r:
        while True:
            b = r.read(1 << 20)
            if not b:
                return h.hexdigest(), n
            h.update(b)
            n += len(b)


def head_status(srv, bucket, key):
    req = urllib.request.Request(object_url(srv, bucket, key), method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def closed_port():
    """A loopback port nobody listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------------ running hoist

def cp(srv, path, bucket, key, *args, env=None, timeout=300, scheme="oss"):
    """hoist cp PATH oss://BUCKET/KEY --endpoint srv --json ARGS: returns
    (CompletedProcess, parsed JSON or None)."""
    p = hoist("cp", path, "%s://%s/%s" % (scheme, bucket, key), "--endpoint", srv.url, "--json",
              *args, env=env, timeout=timeout)
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    return p, js


def expected_parts(size, part_size):
    return 0 if size <= part_size else (size + part_size - 1) // part_size


def check_upload(t, srv, path, bucket, key, p, js, name, part_size=None,
                 want_verified="response", etag=oss_etag):
    """Asserts one upload: exit 0, JSON fields, the object read back byte
    for byte, hoist's CRC64 and the server's ETag against independent ones."""
    if not t.ok(p.returncode == 0 and js is not None, name + ": exit 0 with JSON",
                "rc=%s\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:])):
        return False
    size = os.path.getsize(path)
    good = True
    good &= t.eq(js["bytes"], size, name + ": bytes")
    good &= t.eq(js["key"], key, name + ": key")
    if want_verified is not None:
        good &= t.eq(js["crc64"], file_crc64(path), name + ": CRC64 equals crcmod's")
        good &= t.eq(js["verified"], want_verified, name + ": verified by " + want_verified)
    if part_size is not None:
        good &= t.eq(js["parts"], expected_parts(size, part_size), name + ": part count")
    try:
        digest, n = object_sha256(srv, bucket, key)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        digest, n = repr(e), -1
    good &= t.ok(n == size and digest == file_sha256(path), name + ": object read back equals file",
                 "got %d bytes sha256 %s" % (n, digest))
    good &= t.eq(js["etag"], etag(path, js["part_size"], js["parts"]),
                 name + ": ETag per the %s rule" % ("OSS" if etag is oss_etag else "S3"))
    return good


# ------------------------------------------------------------- callback receiver

class CallbackReceiver:
    """A local HTTP server that ossemu's callback POSTs to; records each
    request and answers with `status` and a JSON body."""

    def __init__(self, status=200, reply=b'{"Status":"OK"}'):
        rec = self
        self.requests = []
        self.status = status
        self.reply = reply

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                rec.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(rec.reply)))
                self.end_headers()
                self.wfile.write(rec.reply)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/cb" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="hoist-cli-")
        return self.path

    def __exit__(self, *exc):
        import shutil
        shutil.rmtree(self.path, ignore_errors=True)


if __name__ == "__main__":
    t = Tap()
    # Brief 4.3: synthetic vector (102400 x 'a', 1000 x 'b' at 102400-byte parts).
    with TempDir() as d:
        f = os.path.join(d, "v")
        with open(f, "wb") as w:
            w.write(b"a" * 102400 + b"b" * 1000)
        t.eq(oss_etag(f, 102400, 2), '"090978F3FDABF992C84535BA4A870EE0-2"', "ETag rule: brief vector")
        with open(f, "wb") as w:
            w.write(b"0123456789")
        t.eq(oss_etag(f, 0, 0), '"781E5E245D69B566979B86E28D23F2C7"', "ETag rule: single object")
    # Brief 3: "upload part 1" -> 6571598172666981661.
    t.eq(crc64(b"upload part 1"), 6571598172666981661, "crcmod CRC-64/XZ: brief vector")
    # Brief 7.1: V1 vectors.
    d = "Wed, 28 Dec 2022 10:27:41 GMT"
    t.eq(v1_authorization("PUT", "examplebucket", "nelson", "", "eB5eJF1ptWaXm4bijSPyxw==", "text/html", d,
                          {"x-oss-meta-author": "alice", "x-oss-meta-magic": "abracadabra", "x-oss-date": d}),
         "OSS ak:kSHKmLxlyEAKtZPkJhG9bZb5k7M=", "V1 signer: brief vector 1")
    t.eq(v1_authorization("POST", "examplebucket", "multipart.data", "uploads", "", "application/octet-stream", d),
         "OSS ak:KQ3PJnFGaP+UO/zEv21P7CP1qLk=", "V1 signer: Initiate vector")
    t.eq(v1_authorization("PUT", "examplebucket", "multipart.data", "partNumber=1&uploadId=0004B9895DBBB6EC9",
                          "", "", d), "OSS ak:Q99aqajimzbzP3GghUN5ARawSuI=", "V1 signer: UploadPart vector")
    t.done()
