#!/usr/bin/env python3
"""STS tokens that expire, and ossemu's ECS instance-metadata service.

- --key AK:SK:TOKEN:EXPIRES: before the expiry every signing scheme works;
  after it OSS answers 403 SecurityTokenExpired, EC 0002-00000007 (header
  and body), the documented message and the token echoed in
  <SecurityToken>; the S3 dialect 400 ExpiredToken; a wrong token stays
  InvalidSecurityToken (EC 0002-00000006) / InvalidToken.
- --imds ROLE:TTL: the IMDSv2 token (PUT /latest/api/token with its TTL
  header, 1..21600), the role name, the credentials document (fields and
  formats the Alibaba Cloud credential providers read), keys that sign
  requests, rotation at half-life with the old keys working until their own
  expiry and SecurityTokenExpired after it, --imds-mode v2 / v1, faults.
- /-/stats: distinct tokens used, expired-token refusals, sets minted.
"""
import calendar
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import OSSEMU, Ossemu, Tap  # noqa: E402
from osssign import Client, code_of, error_of, exit_ok  # noqa: E402

t = Tap()
SCHEMES = ("v1", "v1-presign", "v4", "v4-presign", "s3", "s3-presign")
TTL_HDR = "X-aliyun-ecs-metadata-token-ttl-seconds"
TOK_HDR = "X-aliyun-ecs-metadata-token"
CREDS = "/latest/meta-data/ram/security-credentials/"


def raw(srv, method, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    out = (r.status, body, {k.lower(): v for k, v in r.getheaders()})
    c.close()
    return out


def utc(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


now = int(time.time())
with Ossemu(keys=["ak:sk", f"live:livesecret:livetoken:{now + 3600}",
                  f"dead:deadsecret:deadtoken+/=:{now - 5}",
                  f"soon:soonsecret:soontoken:{now + 3}"]) as srv:
    for scheme in SCHEMES:
        s3 = scheme.startswith("s3")
        r = Client(srv.url, scheme=scheme, ak="live", sk="livesecret",
                   token="livetoken").request("PUT", "bkt", f"sts/{scheme}", body=b"x" * 10)
        t.eq(r.status, 200, f"{scheme}: a token before its expiry is accepted")
        r = Client(srv.url, scheme=scheme, ak="dead", sk="deadsecret",
                   token="deadtoken+/=").request("GET", "bkt", f"sts/{scheme}")
        e = error_of(r)
        if s3:
            t.ok(r.status == 400 and e.get("Code") == "ExpiredToken" and
                 e.get("Message") == "The provided token has expired." and r.header("x-oss-ec") is None,
                 f"{scheme}: an expired token -> 400 ExpiredToken", f"{r.status} {r.body!r}")
        else:
            t.ok(r.status == 403 and e.get("Code") == "SecurityTokenExpired" and
                 e.get("EC") == "0002-00000007" and r.header("x-oss-ec") == "0002-00000007" and
                 e.get("Message") == "The security token you provided has expired." and
                 e.get("SecurityToken") == "deadtoken+/=",
                 f"{scheme}: an expired token -> 403 SecurityTokenExpired, EC 0002-00000007, "
                 f"token echoed", f"{r.status} {r.body!r}")
        r = Client(srv.url, scheme=scheme, ak="dead", sk="deadsecret",
                   token="other").request("GET", "bkt", f"sts/{scheme}")
        want = "InvalidToken" if s3 else "InvalidSecurityToken"
        t.ok(code_of(r) == want and (s3 or error_of(r).get("EC") == "0002-00000006"),
             f"{scheme}: a wrong token for an expired key stays {want}", f"{r.status} {r.body!r}")
    r = Client(srv.url, scheme="v1", ak="dead", sk="deadsecret", token="deadtoken+/=").request(
        "HEAD", "bkt", "sts/v1")
    t.ok(r.status == 403 and error_of(r).get("Code") == "SecurityTokenExpired",
         "HEAD with an expired token: 403, the document in x-oss-err")
    c = Client(srv.url, scheme="v4", ak="soon", sk="soonsecret", token="soontoken")
    t.eq(c.request("PUT", "bkt", "sts/soon", body=b"1").status, 200, "a token 3 s from expiry works")
    time.sleep(max(0, now + 3.2 - time.time()))
    r = c.request("GET", "bkt", "sts/soon")
    t.ok(r.status == 403 and code_of(r) == "SecurityTokenExpired",
         "... and the same client is refused once it expires", f"{r.status}")
    st = srv.stats()["sts"]
    t.ok(st["tokens_used"] == 2 and st["expired_rejections"] == 8,
         f"stats: 2 distinct tokens used (live, soon), 8 expired refusals: {st}")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu exits 0 without sanitizer reports", why)

# ---- the metadata service ------------------------------------------------------------------
TTL = 6
with Ossemu(keys=["ak:sk"], imds=f"hoist-role:{TTL}") as srv:
    st, tok, _ = raw(srv, "PUT", "/latest/api/token", {TTL_HDR: "21600"})
    t.ok(st == 200 and len(tok) >= 16, "PUT /latest/api/token with a TTL: a token")
    tok = tok.decode()
    for bad in (None, "0", "21601", "abc"):
        st, _, _ = raw(srv, "PUT", "/latest/api/token", {TTL_HDR: bad} if bad else {})
        t.eq(st, 400, f"token TTL {bad!r}: 400 (ECS accepts 1 to 21600)")
    st, body, h = raw(srv, "GET", CREDS, {TOK_HDR: tok})
    t.ok(st == 200 and body == b"hoist-role", "GET security-credentials/: the role name", body)
    st, body, _ = raw(srv, "GET", CREDS.rstrip("/"), {TOK_HDR: tok})
    t.ok(st == 200 and body == b"hoist-role", "... with or without the trailing slash")
    t0 = int(time.time())
    st, body, h = raw(srv, "GET", CREDS + "hoist-role", {TOK_HDR: tok})
    doc = json.loads(body) if st == 200 else {}
    t.ok(st == 200 and h.get("content-type", "").startswith("application/json") and
         set(doc) == {"Code", "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration",
                      "LastUpdated"} and doc["Code"] == "Success" and
         doc["AccessKeyId"].startswith("STS.") and len(doc["SecurityToken"]) > 100,
         "the credentials document: Code Success, an STS. key id, secret, token", body)
    fmt = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    t.ok(fmt.match(doc.get("Expiration", "")) and fmt.match(doc.get("LastUpdated", "")) and
         abs(utc(doc["Expiration"]) - utc(doc["LastUpdated"]) - TTL) <= 1 and
         abs(utc(doc["LastUpdated"]) - t0) <= 2,
         f"Expiration = LastUpdated + {TTL} s, both UTC 2006-01-02T15:04:05Z", doc)
    first = doc
    for scheme in SCHEMES:
        c = Client(srv.url, scheme=scheme, ak=first["AccessKeyId"], sk=first["AccessKeySecret"],
                   token=first["SecurityToken"])
        r = c.request("PUT", "bkt", f"imds/{scheme}", body=scheme.encode())
        t.eq(r.status, 200, f"{scheme}: the metadata service's keys sign a PutObject")
    st, body, _ = raw(srv, "GET", CREDS + "hoist-role")
    t.ok(st == 200 and json.loads(body)["AccessKeyId"] == first["AccessKeyId"],
         "without a token (normal mode): the same set, before half its life")
    t.eq(raw(srv, "GET", CREDS + "hoist-role", {TOK_HDR: "bogus"})[0], 401,
         "a metadata token that was never issued: 401")
    t.eq(raw(srv, "GET", CREDS + "other-role", {TOK_HDR: tok})[0], 404, "another role: 404")
    t.eq(raw(srv, "GET", "/latest/meta-data/instance-id", {TOK_HDR: tok})[0], 404,
         "metadata ossemu does not serve: 404")
    t.eq(raw(srv, "POST", CREDS + "hoist-role")[0], 405, "POST: 405")

    # Rotation: past half its life the next fetch gets a new set; the old
    # one works until it expires, then is SecurityTokenExpired.
    time.sleep(max(0, utc(first["LastUpdated"]) + TTL / 2 + 0.5 - time.time()))
    second = json.loads(raw(srv, "GET", CREDS + "hoist-role", {TOK_HDR: tok})[1])
    t.ok(second["AccessKeyId"] != first["AccessKeyId"] and
         second["SecurityToken"] != first["SecurityToken"] and
         utc(second["Expiration"]) > utc(first["Expiration"]),
         "past half its life: a new key, token and a later expiry", second)
    old = Client(srv.url, scheme="v1", ak=first["AccessKeyId"], sk=first["AccessKeySecret"],
                 token=first["SecurityToken"])
    new = Client(srv.url, scheme="s3", ak=second["AccessKeyId"], sk=second["AccessKeySecret"],
                 token=second["SecurityToken"])
    t.eq(old.request("GET", "bkt", "imds/v1").status, 200, "the old set still works before its expiry")
    t.eq(new.request("GET", "bkt", "imds/v1").status, 200, "the new set works")
    time.sleep(max(0, utc(first["Expiration"]) + 1.1 - time.time()))
    r = old.request("GET", "bkt", "imds/v1")
    t.ok(r.status == 403 and code_of(r) == "SecurityTokenExpired" and
         error_of(r).get("SecurityToken") == first["SecurityToken"],
         "after its Expiration the old set is SecurityTokenExpired", f"{r.status} {r.body!r}")
    t.eq(new.request("GET", "bkt", "imds/v1").status, 200, "... while the new one still works")
    st = srv.stats()
    t.ok(st["sts"]["tokens_used"] == 2 and st["sts"]["imds_issued"] == 2 and
         st["sts"]["expired_rejections"] == 1 and st["requests"]["imds"]["200"] >= 6,
         f"stats: more than one token signed requests: {st['sts']}, imds {st['requests']['imds']}")

    # Many clients fetching at once around a rotation get whole documents.
    docs, errs = [], []

    def fetch():
        try:
            docs.append(json.loads(raw(srv, "GET", CREDS + "hoist-role")[1]))
        except Exception as e:  # reported below
            errs.append(repr(e))

    ths = [threading.Thread(target=fetch) for _ in range(16)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    t.ok(not errs and len(docs) == 16 and all(d["Code"] == "Success" for d in docs) and
         len({d["AccessKeyId"] for d in docs}) <= 2,
         f"16 concurrent fetches: whole documents, at most two sets ({len({d['AccessKeyId'] for d in docs})})")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--imds) exits 0 without sanitizer reports", why)

# ---- modes, faults, and without --imds --------------------------------------------------------
with Ossemu(imds="r", imds_mode="v2") as srv:
    t.eq(raw(srv, "GET", CREDS)[0], 401, "--imds-mode v2: no token -> 401")
    tok = raw(srv, "PUT", "/latest/api/token", {TTL_HDR: "1"})[1].decode()
    t.eq(raw(srv, "GET", CREDS, {TOK_HDR: tok})[0], 200, "--imds-mode v2: with the token -> 200")
    time.sleep(2.1)
    t.eq(raw(srv, "GET", CREDS, {TOK_HDR: tok})[0], 401, "--imds-mode v2: a token past its TTL -> 401")
    t.ok(exit_ok(srv)[0], "ossemu (--imds-mode v2) exits 0")

with Ossemu(imds="r", imds_mode="v1") as srv:
    t.eq(raw(srv, "PUT", "/latest/api/token", {TTL_HDR: "60"})[0], 404,
         "--imds-mode v1: no token service (404), as an old metadata server")
    st, body, _ = raw(srv, "GET", CREDS + "r")
    t.ok(st == 200 and json.loads(body)["Code"] == "Success", "--imds-mode v1: credentials without a token")
    t.ok(exit_ok(srv)[0], "ossemu (--imds-mode v1) exits 0")

with Ossemu(imds="r", args=["--fail", "1"]) as srv:
    t.eq(raw(srv, "GET", CREDS + "r")[0], 200, "--fail 1 (global) leaves the metadata service alone")
    r = Client(srv.url).request("PUT", "bkt", "k", body=b"1")
    t.ok(r.status in (500, 503), "... while the OSS operations fail")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--fail with --imds) exits 0", why)

with Ossemu(imds="r", args=["--fault", "imds:fail=1"]) as srv:
    t.ok(raw(srv, "GET", CREDS + "r")[0] in (500, 503), "--fault imds:fail=1: the metadata service fails")
    t.eq(Client(srv.url).request("PUT", "bkt", "k", body=b"1").status, 200, "... and OSS does not")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--fault imds:) exits 0", why)

with Ossemu() as srv:
    st, body, _ = raw(srv, "GET", CREDS + "r")
    t.ok(st == 403 and b"<Code>AccessDenied</Code>" in body,
         "without --imds, /latest/... is an ordinary (unsigned, refused) OSS request", body)
    t.ok(exit_ok(srv)[0], "ossemu exits 0")

for bad in ("", "r:0", "r:x", "a/b", "r:43201"):
    p = subprocess.run([OSSEMU, "--imds", bad], capture_output=True, text=True, timeout=10)
    t.ok(p.returncode == 2 and "--imds" in p.stderr, f"--imds {bad!r}: usage error, exit 2", p.stderr)
p = subprocess.run([OSSEMU, "--imds-mode", "v3"], capture_output=True, text=True, timeout=10)
t.eq(p.returncode, 2, "--imds-mode v3: usage error, exit 2")
t.done()
