#!/usr/bin/env python3
"""ossemu under concurrency (the TSan suite runs this file against
build/san-thread/ossemu): many connections at once through every path that
crosses threads - offloaded Complete and callbacks, latency and bandwidth
suspensions, the same part uploaded twice at once, Abort racing UploadPart,
Complete racing Complete, GET racing overwrite, the metadata service
rotating keys under signing clients, paced and faulted GET bodies - then
checks the outcome is consistent and the server exits 0 with no sanitizer
report.
"""
import hashlib
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time
import base64

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import SLOW, Ossemu, Tap  # noqa: E402
from osssign import Client, code_of, complete_body, exit_ok, xml_doc, xml_text  # noqa: E402

t = Tap()
KB = 1024
N = 8 if SLOW else 16
TRANSIENT = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


class App(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
threading.Thread(target=app.serve_forever, daemon=True).start()
CB = base64.b64encode(json.dumps({"callbackUrl": f"http://127.0.0.1:{app.server_address[1]}/",
                                  "callbackBody": "o=${object}&s=${size}"}).encode()).decode()


def md5u(b):
    return hashlib.md5(b).hexdigest().upper()


def run(fns):
    errs = []

    def wrap(fn):
        try:
            fn()
        except Exception as e:  # reported below
            errs.append(repr(e))

    ths = [threading.Thread(target=wrap, args=(fn,)) for fn in fns]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return errs


with Ossemu(args=["--latency", "20", "--conn-bandwidth", "50"]) as srv:
    # N uploads at once, 3 parts each, Complete with a callback (offloaded).
    results = {}

    def one_upload(i):
        c = Client(srv.url)
        key = f"tsan/{i}"
        parts = [os.urandom(110 * KB), os.urandom(105 * KB), os.urandom(i * 100 + 1)]
        uid = xml_text(c.request("POST", "bkt", key, query={"uploads": None}).body, "UploadId")
        for n, d in enumerate(parts, 1):
            c.request("PUT", "bkt", key, query={"partNumber": str(n), "uploadId": uid}, body=d)
        r = c.request("POST", "bkt", key, query={"uploadId": uid},
                      body=complete_body([(n, md5u(d)) for n, d in enumerate(parts, 1)]),
                      headers={"x-oss-callback": CB})
        g = c.request("GET", "bkt", key)
        results[i] = (r.status, json.loads(r.body) if r.status == 200 else r.body,
                      g.body == b"".join(parts))

    errs = run([lambda i=i: one_upload(i) for i in range(N)])
    t.ok(not errs and all(v == (200, {"ok": True}, True) for v in results.values()) and
         len(results) == N, f"{N} concurrent uploads with callbacks complete byte-exact",
         f"{errs} {results}")

    # The same part number uploaded by 4 clients at once: one version wins whole.
    c = Client(srv.url)
    uid = xml_text(c.request("POST", "bkt", "race/part", query={"uploads": None}).body, "UploadId")
    versions = [bytes([65 + i]) * (200 * KB) for i in range(4)]
    errs = run([lambda d=d: Client(srv.url).request(
        "PUT", "bkt", "race/part", query={"partNumber": "1", "uploadId": uid}, body=d)
        for d in versions])
    lp = xml_doc(c.request("GET", "bkt", "race/part", query={"uploadId": uid}).body).findall("Part")
    etag = lp[0].findtext("ETag") if lp else None
    t.ok(not errs and len(lp) == 1 and etag in [f'"{md5u(d)}"' for d in versions],
         "same part uploaded 4 times at once: exactly one whole version listed", f"{errs}")
    winner = [d for d in versions if f'"{md5u(d)}"' == etag]
    # Complete raced by Complete: exactly one succeeds.
    outs = []
    errs = run([lambda: outs.append(Client(srv.url).request(
        "POST", "bkt", "race/part", query={"uploadId": uid},
        body=complete_body([(1, etag)])).status) for _ in range(4)])
    t.ok(not errs and sorted(outs) == [200, 404, 404, 404],
         "4 concurrent Completes of one upload: one 200, three 404", f"{outs} {errs}")
    t.ok(winner and c.request("GET", "bkt", "race/part").body == winner[0],
         "the completed object is the listed version")

    # Abort racing UploadParts: every part either acknowledged before or refused after.
    uid = xml_text(c.request("POST", "bkt", "race/abort", query={"uploads": None}).body, "UploadId")
    statuses = []

    def put_part(n):
        try:
            r = Client(srv.url).request("PUT", "bkt", "race/abort",
                                        query={"partNumber": str(n), "uploadId": uid},
                                        body=os.urandom(150 * KB))
            statuses.append(r.status)
        except TRANSIENT:
            statuses.append("conn")

    fns = [lambda n=n: put_part(n) for n in range(1, 9)]
    fns.insert(4, lambda: statuses.append(
        ("abort", Client(srv.url).request("DELETE", "bkt", "race/abort",
                                          query={"uploadId": uid}).status)))
    errs = run(fns)
    t.ok(not errs and ("abort", 204) in statuses and
         all(s in (200, 404) for s in statuses if not isinstance(s, tuple)),
         "Abort racing 8 UploadParts: 204, parts 200 or 404", f"{statuses}")
    t.eq(code_of(c.request("GET", "bkt", "race/abort", query={"uploadId": uid})), "NoSuchUpload",
         "after the race the upload is gone")

    # GET racing overwrites: every read is one whole version.
    vers = [bytes([97 + i]) * (300 * KB) for i in range(3)]
    c.request("PUT", "bkt", "race/obj", body=vers[0])
    reads = []

    def reader():
        x = Client(srv.url)
        for _ in range(6):
            reads.append(x.request("GET", "bkt", "race/obj").body)

    def writer():
        x = Client(srv.url)
        for i in range(6):
            x.request("PUT", "bkt", "race/obj", body=vers[i % 3])

    errs = run([reader, reader, writer, writer])
    t.ok(not errs and reads and all(b in vers for b in reads),
         f"{len(reads)} GETs racing overwrites each saw one whole version", f"{errs}")
    # Chunked bodies while other connections are paced.
    outs = []

    def chunked(i):
        data = os.urandom(300 * KB + i)
        target, h = Client(srv.url).build("PUT", "bkt", f"chunked/{i}")
        h["Transfer-Encoding"] = "chunked"
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.request("PUT", target, body=(data[j:j + 3000] for j in range(0, len(data), 3000)),
                     headers=h, encode_chunked=True)
        r = conn.getresponse()
        r.read()
        conn.close()
        outs.append(r.status == 200 and Client(srv.url).request("GET", "bkt", f"chunked/{i}").body == data)

    errs = run([lambda i=i: chunked(i) for i in range(N // 2)])
    t.ok(not errs and outs == [True] * (N // 2), f"{N // 2} concurrent chunked PutObjects intact",
         f"{errs} {outs}")
    st = srv.stats()
    t.ok(st["faults"]["latency"] > 0 and st["faults"]["bandwidth"] > 0 and
         st["active_connections"] >= 1,
         "latency and bandwidth suspensions happened during the races", json.dumps(st["faults"]))
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu exits 0 without sanitizer reports", why)

# The metadata service rotating keys (2 s lifetime: a new set each second)
# while clients fetch sets and sign with them; GET bodies stalled, corrupted
# and cut off by the reader thread-hopping through suspensions.
with Ossemu(imds="r:2", args=["--conn-bandwidth", "20", "--fault", "getobject:stall=0.3:0.2",
                              "--fault", "getobject:corrupt=0.3"]) as srv:
    res = []
    creds_path = "/latest/meta-data/ram/security-credentials/r"

    # Past two half-lives whatever the build's speed, so that keys rotate.
    deadline = time.time() + 2.6

    def signer(i):
        for j in range(1000):
            if time.time() > deadline:
                break
            h = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            h.request("GET", creds_path)
            doc = json.loads(h.getresponse().read())
            h.close()
            x = Client(srv.url, scheme="v4" if i % 2 else "s3", ak=doc["AccessKeyId"],
                       sk=doc["AccessKeySecret"], token=doc["SecurityToken"])
            data = os.urandom(64 * KB + j)
            a = x.request("PUT", "bkt", f"imds/{i}/{j}", body=data).status
            g = x.request("GET", "bkt", f"imds/{i}/{j}")
            # A corrupted body differs in one byte; a stalled one is whole.
            res.append(a == 200 and g.status == 200 and len(g.body) == len(data) and
                       sum(1 for p, q in zip(g.body, data) if p != q) <= 1)
            threading.Event().wait(0.15)

    errs = run([lambda i=i: signer(i) for i in range(N // 2)])
    st = srv.stats()
    t.ok(not errs and res and all(res), f"{len(res)} fetch-sign-put-get rounds across key rotations",
         f"{errs} {res}")
    t.ok(st["sts"]["tokens_used"] >= 2 and st["sts"]["imds_issued"] >= 2,
         f"requests were signed with more than one minted token: {st['sts']}")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (--imds, paced and faulted GETs) exits 0 without sanitizer reports", why)

app.shutdown()
t.done()
