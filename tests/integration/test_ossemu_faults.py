#!/usr/bin/env python3
"""ossemu fault flags.  For each: /-/stats shows it fired, a client that
retries still ends with a byte-exact object whose ETag and CRC64 are
computed here, and every part acknowledged with 2xx is listed by ListParts
with its ETag (a fault never loses acknowledged data).  Also: --seed makes
the fault pattern reproducible, --latency does not serialize concurrent
requests, --conn-bandwidth caps each connection, not the server.
"""
import hashlib
import http.client
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import SLOW, Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok, complete_body, xml_doc, xml_text  # noqa: E402

t = Tap()
KB = 1024
TRANSIENT = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


def md5u(b):
    return hashlib.md5(b).hexdigest().upper()


def retry(c, log, fn, max_attempts=60):
    """Calls fn() until it answers 2xx; logs every outcome ("reset" for a
    dropped connection, "timeout" for a stall the client gave up on)."""
    for _ in range(max_attempts):
        try:
            r = fn()
        except socket.timeout:
            log.append("timeout")
            c.close()
            continue
        except TRANSIENT:
            log.append("reset")
            c.close()
            continue
        log.append(r.status)
        if 200 <= r.status < 300:
            return r
        if r.status not in (500, 503):
            raise AssertionError(f"unexpected {r.status}: {r.body!r}")
    raise AssertionError(f"no success in {max_attempts} attempts: {log[-10:]}")


def upload(c, key, parts, log):
    """Multipart upload with retries at every step.  Returns (complete
    response, {part number: acknowledged ETag}, upload id)."""
    r = retry(c, log, lambda: c.request("POST", "bkt", key, query={"uploads": None}))
    uid = xml_text(r.body, "UploadId")
    acked = {}
    for n, d in enumerate(parts, 1):
        r = retry(c, log, lambda: c.request("PUT", "bkt", key,
                                            query={"partNumber": str(n), "uploadId": uid}, body=d))
        acked[n] = r.header("etag")
    listed = retry(c, log, lambda: c.request("GET", "bkt", key, query={"uploadId": uid}))
    lp = {int(p.findtext("PartNumber")): p.findtext("ETag") for p in xml_doc(listed.body).findall("Part")}
    body = complete_body(sorted(acked.items()))
    r = retry(c, log, lambda: c.request("POST", "bkt", key, query={"uploadId": uid}, body=body))
    return r, acked, lp


def check_object(c, key, parts, r, name):
    whole = b"".join(parts)
    cat = "".join(md5u(p) for p in parts).encode()
    final = f'"{hashlib.md5(cat).hexdigest().upper()}-{len(parts)}"'
    t.ok(r.status == 200 and xml_text(r.body, "ETag") == final, f"{name}: Complete ETag per §4.3")
    for _ in range(20):
        try:
            g = c.request("GET", "bkt", key)
        except TRANSIENT:
            c.close()
            continue
        if g.status == 200:
            break
    t.ok(g.status == 200 and g.body == whole and g.header("x-oss-hash-crc64ecma") == str(crc64(whole)),
         f"{name}: object reads back byte-exact with the right CRC64")


def parts_of(n, size, seed):
    import random
    rnd = random.Random(seed)
    return [rnd.randbytes(size) for _ in range(n)]


PARTS = parts_of(6, 110 * KB, 1)

# ---- --fail -------------------------------------------------------------------
with Ossemu(args=["--fail", "0.3", "--seed", "7"]) as srv:
    c = Client(srv.url)
    log = []
    r, acked, listed = upload(c, "f/fail.bin", PARTS, log)
    st = srv.stats()
    codes = set(x for x in log if x != 200)
    t.ok(st["faults"]["fail"] > 0 and codes and codes <= {500, 503},
         f"--fail 0.3: {st['faults']['fail']} injected 500/503 answers", str(log))
    t.ok(sum(v.get("500", 0) + v.get("503", 0) for v in st["requests"].values()) == st["faults"]["fail"],
         "--fail: stats count them by operation and status")
    t.eq(listed, acked, "--fail: ListParts holds every acknowledged part with its ETag")
    check_object(c, "f/fail.bin", PARTS, r, "--fail")
    one = Client(srv.url)
    for _ in range(30):
        x = one.request("HEAD", "bkt", "f/nothing")
        if x.status >= 500:
            break
    t.ok(x.status in (500, 503) and (x.header("x-oss-err") or "") != "",
         "--fail answers carry the error document (InternalError / SlowDown)")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--fail 0.3 --seed 7) exits 0 without sanitizer reports", why)

# ---- --seed determinism ---------------------------------------------------------


def pattern(seed):
    with Ossemu(args=["--fault", "uploadpart:fail=0.5", "--seed", str(seed)]) as s:
        c = Client(s.url)
        uid = xml_text(c.request("POST", "bkt", "s", query={"uploads": None}).body, "UploadId")
        return [c.request("PUT", "bkt", "s", query={"partNumber": str(n % 5 + 1), "uploadId": uid},
                          body=b"x").status for n in range(20)]


a, b, other = pattern(11), pattern(11), pattern(12)
t.ok(a == b and 200 in a and (500 in a or 503 in a), "same --seed: same fault pattern", f"{a}\n{b}")
t.ok(a != other, "another --seed: another pattern", f"{a}\n{other}")

# ---- --reset (scoped) ---------------------------------------------------------------
with Ossemu(args=["--fault", "uploadpart:reset=0.5", "--seed", "3"]) as srv:
    c = Client(srv.url)
    log = []
    r, acked, listed = upload(c, "f/reset.bin", PARTS, log)
    st = srv.stats()
    t.ok(st["faults"]["reset"] > 0 and log.count("reset") == st["faults"]["reset"] and
         st["requests"]["uploadpart"].get("reset") == st["faults"]["reset"],
         f"--fault uploadpart:reset=0.5: {st['faults']['reset']} connections dropped mid-body",
         f"{log} {st}")
    t.ok(st["requests"]["initiate"].get("200") == 1 and "reset" not in st["requests"]["complete"],
         "a scoped fault touches only its operation")
    t.eq(listed, acked, "--reset: ListParts holds every acknowledged part with its ETag")
    check_object(c, "f/reset.bin", PARTS, r, "--reset")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--fault uploadpart:reset=0.5 --seed 3) exits 0 without sanitizer reports", why)

# ---- --stall ----------------------------------------------------------------------------
with Ossemu(args=["--stall", "0.5:1.5", "--seed", "5"]) as srv:
    impatient = Client(srv.url, timeout=0.7)
    log = []
    r, acked, listed = upload(impatient, "f/stall.bin", PARTS[:4], log)
    st = srv.stats()
    t.ok(st["faults"]["stall"] > 0 and "timeout" in log,
         f"--stall 0.5:1.5: {st['faults']['stall']} stalls, a 0.7 s client timed out and retried",
         f"{log}")
    t.eq(listed, acked, "--stall: ListParts holds every acknowledged part with its ETag")
    check_object(Client(srv.url, timeout=10), "f/stall.bin", PARTS[:4], r, "--stall")
    patient = Client(srv.url, timeout=10)
    t0 = time.time()
    slow = 0
    for i in range(6):
        t1 = time.time()
        x = patient.request("PUT", "bkt", f"f/stall/{i}", body=b"y" * 1000)
        slow += time.time() - t1 >= 1.4
        t.eq(x.status, 200, f"--stall: a patient client's PutObject {i} succeeds")
    t.ok(slow >= 1, f"--stall: {slow} of 6 requests took the 1.5 s stall")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--stall 0.5:1.5 --seed 5) exits 0 without sanitizer reports", why)

# ---- --latency ------------------------------------------------------------------------------
LAT = 0.3
with Ossemu(args=["--latency", str(int(LAT * 1000))]) as srv:
    c = Client(srv.url)
    t0 = time.time()
    r = c.request("PUT", "bkt", "f/lat", body=b"z")
    dt = time.time() - t0
    t.ok(r.status == 200 and dt >= LAT, f"--latency 300: a request takes {dt:.2f} s >= 0.3 s")
    n = 48
    done = []

    def head(i):
        x = Client(srv.url)
        done.append(x.request("HEAD", "bkt", "f/lat").status)
        x.close()

    t0 = time.time()
    ths = [threading.Thread(target=head, args=(i,)) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    dt = time.time() - t0
    t.ok(done.count(200) == n and dt < 4 * LAT + (1.5 if SLOW else 1.0),
         f"--latency: {n} concurrent requests in {dt:.2f} s (not serialized: that would be "
         f">= {n * LAT / 2:.1f} s on 2 threads)")
    st = srv.stats()
    t.ok(st["faults"]["latency"] >= n + 1, f"--latency: stats count {st['faults']['latency']} delays")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--latency latency) exits 0 without sanitizer reports", why)

# ---- --conn-bandwidth ------------------------------------------------------------------------------
MBPS = 4
with Ossemu(args=["--conn-bandwidth", str(MBPS)]) as srv:
    c = Client(srv.url)
    body = os.urandom(2 * 1000 * 1000)
    t0 = time.time()
    r = c.request("PUT", "bkt", "f/bw", body=body)
    dt = time.time() - t0
    t.ok(r.status == 200 and dt >= 0.4 and r.header("x-oss-hash-crc64ecma") == str(crc64(body)),
         f"--conn-bandwidth 4: 2 MB took {dt:.2f} s (>= 0.4 s), CRC right")
    res = []
    big = os.urandom(4 * 1000 * 1000)

    def put(i):
        x = Client(srv.url)
        res.append(x.request("PUT", "bkt", f"f/bw{i}", body=big).status)

    t0 = time.time()
    ths = [threading.Thread(target=put, args=(i,)) for i in range(3)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    dt = time.time() - t0
    t.ok(res == [200] * 3 and dt < 2.2,
         f"--conn-bandwidth is per connection: 3 x 4 MB in parallel took {dt:.2f} s "
         f"(1 s each; a server-wide cap would need 3 s)")
    t.eq(c.request("GET", "bkt", "f/bw2").body, big, "--conn-bandwidth: bytes intact")
    st = srv.stats()
    t.ok(st["faults"]["bandwidth"] >= 4, f"--conn-bandwidth: {st['faults']['bandwidth']} throttled requests")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--conn-bandwidth MBPS) exits 0 without sanitizer reports", why)

# ---- chunked bodies under pacing (libmicrohttpd hands chunks over while a
# connection is suspended; ossemu must take them without suspending twice) ----


def put_chunked(srv, key, data, chunk=65536, query=None):
    target, h = Client(srv.url).build("PUT", "bkt", key, query=query)
    h["Transfer-Encoding"] = "chunked"
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.request("PUT", target, body=(data[i:i + chunk] for i in range(0, len(data), chunk)),
                 headers=h, encode_chunked=True)
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status, r.getheader("x-oss-hash-crc64ecma"), r.getheader("etag")


with Ossemu(args=["--conn-bandwidth", "8", "--latency", "50", "--fault", "uploadpart:stall=1:0.3"]) as srv:
    data = os.urandom(3 * 1000 * 1000 + 17)
    t0 = time.time()
    st, crc, etag = put_chunked(srv, "f/chunked", data, chunk=4096)
    dt = time.time() - t0
    t.ok(st == 200 and crc == str(crc64(data)) and etag == f'"{md5u(data)}"' and dt >= 0.3,
         f"chunked PutObject under --conn-bandwidth 8: 200, CRC and ETag right ({dt:.2f} s)")
    c = Client(srv.url)
    t.eq(c.request("GET", "bkt", "f/chunked").body, data, "chunked PutObject: bytes intact")
    uid = xml_text(c.request("POST", "bkt", "f/chunked-mp", query={"uploads": None}).body, "UploadId")
    st, crc, etag = put_chunked(srv, "f/chunked-mp", PARTS[0], chunk=1000,
                                query={"partNumber": "1", "uploadId": uid})
    t.ok(st == 200 and crc == str(crc64(PARTS[0])) and etag == f'"{md5u(PARTS[0])}"',
         "chunked UploadPart with a stall mid-body: 200, CRC and ETag right")
    t.ok(srv.stats()["faults"]["stall"] >= 1, "the stall fired on the chunked part")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (chunked bodies under pacing) exits 0 without sanitizer reports", why)

# ---- --bad-crc ----------------------------------------------------------------------------------------
with Ossemu(args=["--fault", "uploadpart:bad-crc=1"]) as srv:
    c = Client(srv.url)
    uid = xml_text(c.request("POST", "bkt", "f/crc", query={"uploads": None}).body, "UploadId")
    r = c.request("PUT", "bkt", "f/crc", query={"partNumber": "1", "uploadId": uid}, body=PARTS[0])
    hdr = r.header("x-oss-hash-crc64ecma")
    t.ok(r.status == 200 and hdr and hdr != str(crc64(PARTS[0])) and
         r.header("etag") == f'"{md5u(PARTS[0])}"',
         "--fault uploadpart:bad-crc=1: UploadPart answers a wrong x-oss-hash-crc64ecma", hdr)
    lp = c.request("GET", "bkt", "f/crc", query={"uploadId": uid})
    t.eq(xml_text(lp.body, "Part/HashCrc64ecma"), str(crc64(PARTS[0])),
         "--bad-crc: the stored part is intact (ListParts has the right CRC)")
    r = c.request("POST", "bkt", "f/crc", query={"uploadId": uid},
                  body=complete_body([(1, md5u(PARTS[0]))]))
    t.eq(r.header("x-oss-hash-crc64ecma"), str(crc64(PARTS[0])), "--bad-crc scoped: Complete CRC right")
    t.eq(srv.stats()["faults"]["bad_crc"], 1, "--bad-crc: stats count it")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--fault uploadpart:bad-crc=1) exits 0 without sanitizer reports", why)
with Ossemu(args=["--bad-crc", "1"]) as srv:
    c = Client(srv.url)
    r = c.request("PUT", "bkt", "f/crc2", body=b"abc")
    t.ok(r.header("x-oss-hash-crc64ecma") != str(crc64(b"abc")), "--bad-crc 1: PutObject CRC wrong")
    t.eq(c.request("GET", "bkt", "f/crc2").body, b"abc", "--bad-crc: data intact")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--bad-crc 1) exits 0 without sanitizer reports", why)

# ---- --no-crc / --no-crc-anywhere -------------------------------------------------------------------
# --no-crc: writes are answered without the CRC, the stored object still reports it (HEAD, ListParts).
# --no-crc-anywhere: no CRC at all.
for flag in ("--no-crc", "--no-crc-anywhere"):
  with Ossemu(args=[flag]) as srv:
    c = Client(srv.url)
    r1 = c.request("PUT", "bkt", "f/nocrc", body=b"abc")
    uid = xml_text(c.request("POST", "bkt", "f/mp", query={"uploads": None}).body, "UploadId")
    r2 = c.request("PUT", "bkt", "f/mp", query={"partNumber": "1", "uploadId": uid}, body=b"def")
    lp = c.request("GET", "bkt", "f/mp", query={"uploadId": uid})
    r3 = c.request("POST", "bkt", "f/mp", query={"uploadId": uid}, body=complete_body([(1, md5u(b"def"))]))
    r4 = c.request("HEAD", "bkt", "f/mp")
    t.ok(all(x.status == 200 and x.header("etag") and x.header("x-oss-hash-crc64ecma") is None
             for x in (r1, r2, r3)),
         f"{flag}: PutObject, UploadPart, Complete carry ETags but no CRC header")
    if flag == "--no-crc":
        t.eq(r4.header("x-oss-hash-crc64ecma"), str(crc64(b"def")), "--no-crc: HEAD still reports the stored CRC")
        t.ok(b"<HashCrc64ecma>%d</HashCrc64ecma>" % crc64(b"def") in lp.body, "--no-crc: ListParts keeps HashCrc64ecma")
    else:
        t.ok(r4.status == 200 and r4.header("x-oss-hash-crc64ecma") is None, "--no-crc-anywhere: HEAD has no CRC")
        t.ok(b"HashCrc64ecma" not in lp.body and xml_text(lp.body, "Part/ETag"),
             "--no-crc-anywhere: ListParts without HashCrc64ecma")
    t.ok(ok, f"ossemu ({flag}) exits 0 without sanitizer reports", why)

t.done()
