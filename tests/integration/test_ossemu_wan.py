#!/usr/bin/env python3
"""ossemu's WAN emulation in the download direction: --conn-bandwidth paces
response bodies as well as request bodies, per connection (parallel
downloads each get the cap), without holding a worker thread (other
requests on the same single worker are answered at once), together with
--latency, and a stall in a body is not made up for by a burst afterwards.
Every body is checked byte for byte, and its CRC-64 independently (crcmod).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import SLOW, Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok  # noqa: E402

t = Tap()
MB = 1000 * 1000
MBPS = 4
# Sanitizer builds are slower but pacing is wall-clock: the lower bounds
# hold everywhere; only the upper bounds get slack.
SLACK = 2.0 if SLOW else 1.0

with Ossemu(args=["--conn-bandwidth", str(MBPS), "--threads", "1"]) as srv:
    c = Client(srv.url)
    data = os.urandom(2 * MB)
    c.request("PUT", "bkt", "wan/obj", body=data)  # paced too: 0.5 s
    t0 = time.time()
    r = c.request("GET", "bkt", "wan/obj")
    dt = time.time() - t0
    t.ok(r.status == 200 and r.body == data and dt >= 0.45 and dt < 0.5 + 0.5 * SLACK,
         f"--conn-bandwidth 4: a 2 MB GET took {dt:.2f} s (0.5 s at 4 MB/s), bytes equal")
    t.eq(r.header("x-oss-hash-crc64ecma"), str(crc64(data)), "paced GET: the CRC header is the body's")

    t0 = time.time()
    r = c.request("GET", "bkt", "wan/obj", headers={"Range": "bytes=1000000-1399999"})
    dt = time.time() - t0
    t.ok(r.status == 206 and r.body == data[1000000:1400000] and dt >= 0.08,
         f"paced ranged GET: 400 kB in {dt:.2f} s (0.1 s at 4 MB/s), bytes equal")

    t0 = time.time()
    r = c.request("HEAD", "bkt", "wan/obj")
    dt = time.time() - t0
    t.ok(r.status == 200 and r.header("content-length") == str(2 * MB) and dt < 0.2 * SLACK,
         f"HEAD has no body to pace: {dt:.3f} s")

    # Per connection: three parallel downloads each get 4 MB/s.
    res = {}

    def get(i):
        x = Client(srv.url)
        res[i] = x.request("GET", "bkt", "wan/obj").body
        x.close()

    t0 = time.time()
    ths = [threading.Thread(target=get, args=(i,)) for i in range(3)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    dt = time.time() - t0
    t.ok(all(res[i] == data for i in range(3)) and dt < 1.0 + 0.5 * SLACK,
         f"--conn-bandwidth is per connection: 3 parallel 2 MB GETs took {dt:.2f} s "
         f"(0.5 s each; a shared cap would take 1.5 s)")

    # The pacing suspends the connection: the one worker thread stays free.
    slow = {}

    def long_get():
        x = Client(srv.url)
        t1 = time.time()
        slow["ok"] = x.request("GET", "bkt", "wan/obj").body == data
        slow["dt"] = time.time() - t1

    th = threading.Thread(target=long_get)
    th.start()
    time.sleep(0.1)
    t0 = time.time()
    quick = [Client(srv.url).request("HEAD", "bkt", "wan/obj").status for _ in range(5)]
    dt = time.time() - t0
    th.join()
    t.ok(quick == [200] * 5 and dt < 0.3 * SLACK and slow.get("ok"),
         f"--threads 1: 5 HEADs during a paced GET answered in {dt:.3f} s (the worker never sleeps)")

    # An error body is paced like any other; a listing too (both small: fast).
    r = c.request("GET", "bkt", "wan/missing")
    t.eq(r.status, 404, "paced server: a 404 still comes whole")

    st = srv.stats()
    t.ok(st["faults"]["bandwidth"] >= 6, f"stats: {st['faults']['bandwidth']} paced bodies counted")
    t.ok(st["bytes_out"] >= 5 * 2 * MB + 400000, f"stats: bytes_out {st['bytes_out']} counts paced bytes")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--conn-bandwidth, --threads 1) exits 0 without sanitizer reports", why)

# Latency and bandwidth add up; a mid-body stall is waited out, not burst away.
with Ossemu(args=["--conn-bandwidth", str(MBPS), "--latency", "200",
                  "--fault", "getobject:stall=1:0.6"]) as srv:
    c = Client(srv.url)
    data = os.urandom(2 * MB)
    c.request("PUT", "bkt", "wan/lat", body=data)
    t0 = time.time()
    r = c.request("GET", "bkt", "wan/lat")
    dt = time.time() - t0
    t.ok(r.status == 200 and r.body == data and dt >= 0.2 + 0.5 + 0.6 - 0.05,
         f"--latency 200 + 4 MB/s + a 0.6 s stall mid-body: {dt:.2f} s (>= 1.3 s), bytes equal")
    st = srv.stats()
    t.ok(st["faults"]["stall"] >= 1 and st["faults"]["latency"] >= 2,
         f"stats: {st['faults']['stall']} stall(s), {st['faults']['latency']} delayed answers")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--conn-bandwidth --latency --fault getobject:stall) exits 0 cleanly", why)

# Without --conn-bandwidth nothing is paced: 20 MB comes at loopback speed.
with Ossemu() as srv:
    c = Client(srv.url)
    data = os.urandom(20 * MB)
    c.request("PUT", "bkt", "wan/fast", body=data)
    t0 = time.time()
    r = c.request("GET", "bkt", "wan/fast")
    dt = time.time() - t0
    t.ok(r.body == data and dt < 1.0 * SLACK, f"unpaced: a 20 MB GET in {dt:.2f} s")
    st = srv.stats()
    t.eq(st["faults"]["bandwidth"], 0, "unpaced: no body counted as paced")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (no pacing) exits 0 cleanly", why)

t.done()
