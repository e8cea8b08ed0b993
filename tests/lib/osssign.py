"""osssign - independent request signing and a raw HTTP client for ossemu's
protocol tests.

What it owns: OSS V1 (HMAC-SHA1), OSS V4 (OSS4-HMAC-SHA256) and AWS SigV4
(AWS4-HMAC-SHA256), header and presigned forms, written from
docs/oss-protocol.md §7 and AWS's SigV4 documentation with only hmac,
hashlib and urllib.parse.  It shares no code with engine/sign.c, so a test
that passes proves two implementations agree (and self_check() proves this
one against the published vectors).

    c = Client(srv.url, ak="ak", sk="sk", scheme="v1")   # or "v4", "s3", "anon"
    r = c.request("PUT", "bkt", "key", body=b"data")
    r.status, r.headers["etag"], r.body
"""
import base64
import calendar
import hashlib
import hmac
import http.client
import time
import urllib.parse
from email.utils import formatdate

V1_SUBRESOURCES = {
    "acl", "append", "bucketInfo", "callback", "callback-var", "cloudboxes",
    "continuation-token", "delete", "location", "objectMeta", "partNumber",
    "position", "regionList", "resourceGroup", "response-cache-control",
    "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires",
    "restore", "security-token", "sequential", "stat", "symlink", "tagging",
    "uploadId", "uploads", "versionId", "versioning", "versions",
}


def uri_encode(s, safe=""):
    """RFC 3986: everything but A-Z a-z 0-9 - _ . ~ (and `safe`) as %XX."""
    return urllib.parse.quote(s, safe="-_.~" + safe)


def _norm_query(query):
    """dict or list of (name, value) -> list of (name, value|None)."""
    if query is None:
        return []
    if isinstance(query, dict):
        return list(query.items())
    return list(query)


def _lower_headers(headers):
    out = {}
    for k, v in headers.items():
        lk = k.lower()
        out[lk] = (out[lk] + "," + v.strip()) if lk in out else v.strip()
    return out


def rfc1123(t):
    return formatdate(t, usegmt=True)


def iso8601(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


# ---- OSS V1 ------------------------------------------------------------------

def oss_v1_string_to_sign(method, bucket, key, query, headers, date_line):
    h = _lower_headers(headers)
    lines = [method, h.get("content-md5", ""), h.get("content-type", ""), date_line]
    canon_hdrs = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-oss-"))
    res = "/"
    if bucket:
        res += bucket + "/" + (key or "")
    sub = sorted((k, v) for k, v in _norm_query(query)
                 if k in V1_SUBRESOURCES or k.startswith("x-oss-"))
    if sub:
        res += "?" + "&".join(k if v in (None, "") else f"{k}={v}" for k, v in sub)
    return "\n".join(lines) + "\n" + canon_hdrs + res


def oss_v1_sign(secret, sts):
    mac = hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


# ---- OSS V4 ------------------------------------------------------------------

def _canonical_query(query, always_eq):
    enc = sorted((uri_encode(k), uri_encode(v or "")) for k, v in _norm_query(query))
    return "&".join(f"{k}={v}" if (v or always_eq) else k for k, v in enc)


def oss_v4_canonical_request(method, bucket, key, query, headers, additional=(),
                             payload=None):
    h = _lower_headers(headers)
    add = sorted({a.lower() for a in additional
                  if a.lower() in h and not (a.lower().startswith("x-oss-")
                                             or a.lower() in ("content-type", "content-md5"))})
    uri = "/" + (uri_encode(bucket + "/" + (key or ""), "/") if bucket else "")
    signed = sorted(k for k in h if k.startswith("x-oss-") or k in ("content-type", "content-md5")
                    or k in add)
    canon_hdrs = "".join(f"{k}:{h[k]}\n" for k in signed)
    if payload is None:
        payload = h.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return "\n".join([method, uri, _canonical_query(query, False), canon_hdrs,
                      ";".join(add), payload]), ";".join(add)


def _hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def oss_v4_signature(secret, region, datetime_, canonical, product="oss"):
    date = datetime_[:8]
    scope = f"{date}/{region}/{product}/aliyun_v4_request"
    sts = "\n".join(["OSS4-HMAC-SHA256", datetime_, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac256(("aliyun_v4" + secret).encode(), date)
    k = _hmac256(k, region)
    k = _hmac256(k, product)
    k = _hmac256(k, "aliyun_v4_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), scope


# ---- AWS SigV4 ---------------------------------------------------------------

def aws_canonical_request(method, path, query, headers, signed_headers, payload):
    h = {}
    for k, v in headers.items():
        lk = k.lower()
        v = " ".join(v.strip().split())
        h[lk] = (h[lk] + "," + v) if lk in h else v
    names = signed_headers.split(";")
    canon_hdrs = "".join(f"{n}:{h.get(n, '')}\n" for n in names)
    return "\n".join([method, uri_encode(path, "/"), _canonical_query(query, True),
                      canon_hdrs, signed_headers, payload])


def aws_signature(secret, region, datetime_, canonical, service="s3"):
    date = datetime_[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", datetime_, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac256(("AWS4" + secret).encode(), date)
    k = _hmac256(k, region)
    k = _hmac256(k, service)
    k = _hmac256(k, "aws4_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest(), scope


def self_check():
    """The published vectors (oss-protocol.md §7, AWS docs); returns a list of
    (name, ok) so a test can report them."""
    out = []
    d = "Wed, 28 Dec 2022 10:27:41 GMT"
    hdrs = {"Content-MD5": "eB5eJF1ptWaXm4bijSPyxw==", "Content-Type": "text/html",
            "x-oss-meta-author": "alice", "x-oss-meta-magic": "abracadabra", "x-oss-date": d}
    sts = oss_v1_string_to_sign("PUT", "examplebucket", "nelson", [], hdrs, d)
    out.append(("V1 vector 1", oss_v1_sign("sk", sts) == "kSHKmLxlyEAKtZPkJhG9bZb5k7M="))
    sts = oss_v1_string_to_sign("PUT", "examplebucket", "nelson", [("acl", None)], hdrs, d)
    out.append(("V1 vector 2", oss_v1_sign("sk", sts) == "/afkugFbmWDQ967j1vr6zygBLQk="))
    sts = oss_v1_string_to_sign("GET", "bucket", "key", [("versionId", "versionId")], {},
                                "1699807420")
    out.append(("V1 presigned vector", oss_v1_sign("sk", sts) == "dcLTea+Yh9ApirQ8o8dOPqtvJXQ="))
    hdrs = {"x-oss-head1": "value", "abc": "value", "ZAbc": "value", "XYZ": "value",
            "content-type": "text/plain", "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
            "x-oss-date": "20231216T162057Z"}
    q = [("param1", "value1"), ("+param1", "value3"), ("|param1", "value4"), ("+param2", ""),
         ("|param2", ""), ("param2", "")]
    cr, _ = oss_v4_canonical_request("PUT", "bucket", "1234+-/123/1.txt", q, hdrs)
    sig, _ = oss_v4_signature("sk", "cn-hangzhou", "20231216T162057Z", cr)
    out.append(("V4 vector 1",
                sig == "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"))
    hdrs["x-oss-date"] = "20231216T172512Z"
    cr, add = oss_v4_canonical_request("PUT", "bucket", "1234+-/123/1.txt", q, hdrs,
                                       additional=("x-oss-no-exist", "ZAbc", "x-oss-head1", "abc"))
    sig, _ = oss_v4_signature("sk", "cn-hangzhou", "20231216T172512Z", cr)
    out.append(("V4 vector 2 (AdditionalHeaders)", add == "abc;zabc" and
                sig == "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f"))
    # AWS's published S3 example "GET Object" (sigv4-header-based-auth).
    hdrs = {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
            "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(),
            "x-amz-date": "20130524T000000Z"}
    cr = aws_canonical_request("GET", "/test.txt", [], hdrs,
                               "host;range;x-amz-content-sha256;x-amz-date",
                               hashlib.sha256(b"").hexdigest())
    sig, _ = aws_signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
                           "20130524T000000Z", cr)
    out.append(("SigV4 AWS GET Object example",
                sig == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
    return out


# ---- client ------------------------------------------------------------------

class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers      # lower-case name -> value (last wins)
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<Resp {self.status} {self.body[:300]!r}>"


class Client:
    """Raw HTTP requests to ossemu, signed in one scheme:
    "v1", "v1-presign", "v4", "v4-presign", "s3", "s3-presign", "s3-unsigned"
    (SigV4 with UNSIGNED-PAYLOAD) or "anon"."""

    def __init__(self, url, ak="ak", sk="sk", token=None, scheme="v1", region="cn-hangzhou",
                 host=None, vhost=False, clock_offset=0, ssl_context=None, timeout=60,
                 additional=(), reconnect=False):
        u = urllib.parse.urlsplit(url)
        self.tls = u.scheme == "https"
        self.addr = (u.hostname, u.port)
        self.netloc = u.netloc
        self.ak, self.sk, self.token = ak, sk, token
        self.scheme = scheme
        self.region = region
        self.host = host            # Host header override
        self.vhost = vhost          # path without the bucket (virtual-host style)
        self.clock_offset = clock_offset
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.additional = additional
        # Resend once on a new connection when a kept-alive one turns out
        # closed (off by default: the fault tests must see every reset).
        self.reconnect = reconnect
        self.conn = None

    def _connect(self):
        if self.conn is None:
            if self.tls:
                self.conn = http.client.HTTPSConnection(*self.addr, timeout=self.timeout,
                                                        context=self.ssl_context)
            else:
                self.conn = http.client.HTTPConnection(*self.addr, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def build(self, method, bucket, key=None, query=None, headers=None, body=b"",
              expires=600, now=None):
        """Returns (path_with_query, headers) signed for this client's scheme."""
        q = _norm_query(query)
        h = dict(headers or {})
        t = int(time.time() + self.clock_offset) if now is None else now
        host = self.host or self.netloc
        h.setdefault("Host", host)
        if self.vhost:
            path = "/" + (key or "")
        else:
            path = "/" + (bucket + "/" + (key or "") if bucket else "")
            if bucket and key is None:
                path = "/" + bucket
        s = self.scheme
        if s == "v1":
            h.setdefault("Date", rfc1123(t))
            if self.token:
                h["x-oss-security-token"] = self.token
            sts = oss_v1_string_to_sign(method, bucket, key, q, h, h["Date"])
            h["Authorization"] = f"OSS {self.ak}:{oss_v1_sign(self.sk, sts)}"
        elif s == "v1-presign":
            exp = str(t + expires)
            if self.token:
                q.append(("security-token", self.token))
            sts = oss_v1_string_to_sign(method, bucket, key, q, h, exp)
            q += [("OSSAccessKeyId", self.ak), ("Expires", exp),
                  ("Signature", oss_v1_sign(self.sk, sts))]
        elif s == "v4":
            dt = iso8601(t)
            h["x-oss-date"] = dt
            h.setdefault("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
            h.setdefault("Date", rfc1123(t))
            if self.token:
                h["x-oss-security-token"] = self.token
            cr, add = oss_v4_canonical_request(method, bucket, key, q, h, self.additional)
            sig, scope = oss_v4_signature(self.sk, self.region, dt, cr)
            auth = f"OSS4-HMAC-SHA256 Credential={self.ak}/{scope}"
            if add:
                auth += f",AdditionalHeaders={add}"
            h["Authorization"] = auth + f",Signature={sig}"
        elif s == "v4-presign":
            dt = iso8601(t)
            q += [("x-oss-signature-version", "OSS4-HMAC-SHA256"), ("x-oss-date", dt),
                  ("x-oss-expires", str(expires)),
                  ("x-oss-credential",
                   f"{self.ak}/{dt[:8]}/{self.region}/oss/aliyun_v4_request")]
            if self.token:
                q.append(("x-oss-security-token", self.token))
            cr, _ = oss_v4_canonical_request(method, bucket, key, q, h, (), "UNSIGNED-PAYLOAD")
            sig, _ = oss_v4_signature(self.sk, self.region, dt, cr)
            q.append(("x-oss-signature", sig))
        elif s in ("s3", "s3-unsigned"):
            dt = iso8601(t)
            h["x-amz-date"] = dt
            payload = ("UNSIGNED-PAYLOAD" if s == "s3-unsigned"
                       else hashlib.sha256(body).hexdigest())
            h.setdefault("x-amz-content-sha256", payload)
            if self.token:
                h["x-amz-security-token"] = self.token
            names = sorted({k.lower() for k in h
                            if k.lower() in ("host", "content-md5", "content-type", "range")
                            or k.lower().startswith("x-amz-")})
            signed = ";".join(names)
            cr = aws_canonical_request(method, path, q, h, signed, h["x-amz-content-sha256"])
            sig, scope = aws_signature(self.sk, self.region, dt, cr)
            h["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.ak}/{scope}, "
                                  f"SignedHeaders={signed}, Signature={sig}")
        elif s == "s3-presign":
            dt = iso8601(t)
            q += [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                  ("X-Amz-Credential", f"{self.ak}/{dt[:8]}/{self.region}/s3/aws4_request"),
                  ("X-Amz-Date", dt), ("X-Amz-Expires", str(expires)),
                  ("X-Amz-SignedHeaders", "host")]
            if self.token:
                q.append(("X-Amz-Security-Token", self.token))
            cr = aws_canonical_request(method, path, q, h, "host", "UNSIGNED-PAYLOAD")
            sig, _ = aws_signature(self.sk, self.region, dt, cr)
            q.append(("X-Amz-Signature", sig))
        elif s != "anon":
            raise ValueError(s)
        qs = "&".join(uri_encode(k) + ("" if v is None else "=" + uri_encode(v)) for k, v in q)
        target = uri_encode(path, "/") + ("?" + qs if qs else "")
        return target, h

    def request(self, method, bucket, key=None, query=None, headers=None, body=b"",
                expires=600, now=None, retries=0):
        target, h = self.build(method, bucket, key, query, headers, body, expires, now)
        for attempt in (0, 1):
            reused = self.conn is not None
            c = self._connect()
            try:
                c.request(method, target, body=body if body or method in ("PUT", "POST") else None,
                          headers=h)
                r = c.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server had closed while idle
                # (a loaded machine stretches the idle time): once more on a
                # new one, as every HTTP client does, when asked.  A fresh
                # one failing is the test's to see.
                self.close()
                if not reused or attempt or not self.reconnect:
                    raise
            except Exception:
                self.close()
                raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        return Resp(r.status, r.reason, hdrs, data)


# ---- response helpers ----------------------------------------------------------

def xml_doc(body):
    """Parses an XML body, dropping S3's namespace so paths read the same in
    both dialects."""
    import xml.etree.ElementTree as ET
    root = ET.fromstring(body)
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def xml_text(body, path):
    """Text of the first element at path (ElementTree path from the root)."""
    el = xml_doc(body).find(path)
    return None if el is None else (el.text or "")


def error_of(resp):
    """{element: text} of an <Error> body (HEAD: of the x-oss-err header), or {}."""
    body = resp.body
    if not body and resp.header("x-oss-err"):
        body = base64.b64decode(resp.header("x-oss-err"))
    try:
        root = xml_doc(body)
    except Exception:
        return {}
    if root.tag != "Error":
        return {}
    return {el.tag: (el.text or "") for el in root}


def code_of(resp):
    return error_of(resp).get("Code")


def complete_body(parts, escape="&#34;"):
    """A CompleteMultipartUpload document; ETag quotes written as `escape`
    (Go v2 writes &#34;, others &quot; or a raw quote)."""
    items = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{escape}{e.strip(chr(34))}{escape}"
                    f"</ETag></Part>" for n, e in parts)
    return f"<CompleteMultipartUpload>{items}</CompleteMultipartUpload>".encode()


def parse_http_date(s):
    return calendar.timegm(time.strptime(s, "%a, %d %b %Y %H:%M:%S GMT"))


def exit_ok(srv):
    """Stops an hoisttest.Ossemu and tells whether it exited 0 with no
    sanitizer report on stderr: (ok, detail) for Tap.ok."""
    code = srv.stop()
    err = srv.stderr()
    bad = [ln for ln in err.splitlines()
           if "Sanitizer" in ln or "runtime error:" in ln or "WARNING: ThreadSanitizer" in ln]
    return code == 0 and not bad, f"exit status {code}\n{err[-4000:]}"
