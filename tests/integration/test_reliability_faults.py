"""test_reliability_faults - hoist recovers from a faulty store, and never
completes a wrong object (issue 5, fault suite).

Against ossemu's deterministic fault flags (--seed):
 1. 20 uploads of 64 MiB at 1 MiB parts, --jobs 16, under
    `--fail 0.05 --reset 0.01 --stall 0.005:3`: every one finishes, its
    bytes read back equal the file (sha256), its CRC64 is crcmod's, its ETag
    follows the OSS rule; /-/stats shows failures, resets and stalls were
    injected.  (Sanitizer suites: 10 x 32 MiB with --stall 0.01:3.)
    A part stalled for 60 s (`--fault uploadpart:stall=0.1:60`) is
    re-sent: the upload ends in seconds, byte-exact.
 2. `--fault uploadpart:bad-crc=RATE` (the server lies about some parts'
    CRC64): those parts are re-sent (the JSON's retries cover the lies),
    the object is byte-exact.  With every part lied about: exit 4
    (E_CHECKSUM), and no object (HEAD and GET 404).  A Complete lying
    about the object's CRC64: hoist checks by HEAD (the true CRC64) and
    the object is right.  From a small stand-in server (LyingStore): the
    Complete and the HEAD both report another CRC64 than the parts' ->
    exit 4; a `200 OK` Complete whose body is an <Error> -> an error.
 3. A Complete that fails transiently (500/503, or a dropped connection) is
    retried without re-uploading any part: bytes_in ~= the file size and one
    UploadPart 200 per part.
"""
import hashlib
import http.server
import os
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403

t = Tap()


class LyingStore:
    """A minimal OSS stand-in (http.server, loopback) for lies ossemu does
    not tell (it always stores data intact and reports the true CRC64 on
    HEAD).  Initiate and UploadPart are answered correctly (MD5 ETag,
    crcmod CRC64; parts kept in memory); then, by mode:
      "error-body": every Complete gets `200 OK` with an <Error> body, as a
                    broken proxy or store can send;
      "wrong-crc":  Complete succeeds but its x-oss-hash-crc64ecma, and the
                    HEAD's after it, are one bit off the parts' CRC64: the
                    store claims to hold other bytes than were sent.
    Counts the Completes and HEADs it gets."""

    def __init__(self, mode):
        self.mode = mode
        self.completes = 0
        self.heads = 0
        self.parts = {}
        me = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self):
                if self.headers.get("Expect", "").lower() == "100-continue":
                    self.send_response_only(100)
                    self.end_headers()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def _send(self, code, body=b"", hdrs=(), length=None):
                self.send_response(code)
                self.send_header("x-oss-request-id", "LYING%08d" % me.completes)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                if body:
                    self.send_header("Content-Type", "application/xml")
                for k, v in hdrs:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _object(self):
                data = b"".join(me.parts[n] for n in sorted(me.parts))
                md5s = "".join(hashlib.md5(me.parts[n]).hexdigest().upper() for n in sorted(me.parts))
                etag = '"%s-%d"' % (hashlib.md5(md5s.encode()).hexdigest().upper(), len(me.parts))
                return len(data), etag, str(crc64(data) ^ 1)

            def do_POST(self):  # noqa: N802 - http.server naming
                q = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
                self._body()
                if "uploads" in q:
                    self._send(200, b'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult>'
                               b"<Bucket>bkt</Bucket><Key>k</Key><UploadId>0123456789ABCDEF0123456789ABCDEF"
                               b"</UploadId></InitiateMultipartUploadResult>")
                    return
                me.completes += 1
                if me.mode == "error-body":
                    self._send(200, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                               b"<Message>We encountered an internal error. Please try again.</Message>"
                               b"<RequestId>LYING</RequestId><HostId>127.0.0.1</HostId></Error>")
                    return
                _, etag, wrong = self._object()
                self._send(200, ('<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult>'
                                 "<Location>%s/bkt/k</Location><Bucket>bkt</Bucket><Key>k</Key>"
                                 "<ETag>&quot;%s&quot;</ETag></CompleteMultipartUploadResult>"
                                 % (me.url, etag.strip('"'))).encode(),
                           hdrs=(("ETag", etag), ("x-oss-hash-crc64ecma", wrong)))

            def do_PUT(self):  # noqa: N802
                q = parse_qs(urlsplit(self.path).query)
                b = self._body()
                me.parts[int(q.get("partNumber", ["0"])[0])] = b
                self._send(200, hdrs=(("ETag", '"%s"' % hashlib.md5(b).hexdigest().upper()),
                                      ("x-oss-hash-crc64ecma", str(crc64(b)))))

            def do_DELETE(self):  # noqa: N802
                self._send(204)

            def do_HEAD(self):  # noqa: N802
                me.heads += 1
                if me.mode != "wrong-crc" or not me.completes:
                    self._send(404)
                    return
                size, etag, wrong = self._object()
                self._send(200, hdrs=(("ETag", etag), ("x-oss-hash-crc64ecma", wrong),
                                      ("x-oss-object-type", "Multipart")), length=size)

            def do_GET(self):  # noqa: N802
                self._send(404, b"<Error><Code>NoSuchKey</Code><Message>none</Message></Error>")

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


PART = 1 * MiB
# 20 x 64 MiB takes about 35 s on the 2-core VM (about 1.2 s an upload plus
# the read-back); the sanitizer builds get 10 x 32 MiB.
N_UPLOADS = scaled(20, 10)
SIZE = scaled(64 * MiB, 32 * MiB)
# A quarter of the requests: a stall rate twice as high keeps a few
# stalls in the run (at 0.005 the seed gives none in 330 requests).
STALL = scaled("0.005:3", "0.01:3")
# Complete-body bytes (about 60 bytes a part) and the like, on top of the file.
SLACK = 64 * 1024

with TempDir() as d:
    ck = os.path.join(d, "ckpt")
    # Four distinct files, cycled: each is hashed once (the oracles cache).
    files = [make_file(os.path.join(d, "f%d" % i), SIZE + i * 4099, seed=100 + i) for i in range(4)]

    # ------------------------------------------------------------ 1. fail/reset/stall
    start = time.monotonic()
    with Ossemu(args=["--anonymous", "--fail", "0.05", "--reset", "0.01", "--stall", STALL,
                      "--seed", "20251125"]) as srv:
        retries = 0
        for i in range(N_UPLOADS):
            f = files[i % len(files)]
            key = "faults/%02d" % i
            p, js = cp(srv, f, "bkt", key, "--part-size", "1M", "--jobs", "16", "--checkpoint-dir", ck,
                       timeout=180)
            check_upload(t, srv, f, "bkt", key, p, js, "faulty store, upload %d" % (i + 1), part_size=PART)
            retries += (js or {}).get("retries", 0)
            delete_object(srv, "bkt", key)
        st = srv.stats()
        took = time.monotonic() - start
        fl = st["faults"]
        print("# %d uploads of %d MiB under faults in %.1f s: faults %s, hoist retries %d"
              % (N_UPLOADS, SIZE // MiB, took, fl, retries), flush=True)
        t.ok(fl["fail"] > 0 and fl["reset"] > 0 and fl["stall"] > 0,
             "faulty store: failures, resets and stalls were injected", fl)
        t.ok(retries >= fl["fail"], "faulty store: every injected failure was answered by a re-send "
             "(retries %d >= fail faults %d)" % (retries, fl["fail"]))
        t.eq(ls_uploads(srv.url), [], "faulty store: no multipart upload left open")
        t.eq(journals(ck), [], "faulty store: no journal left behind")

    mid = make_file(os.path.join(d, "mid"), 16 * MiB + 77, seed=7)
    nparts = expected_parts(os.path.getsize(mid), PART)

    # ------------------------------------------------------------ 1b. long stalls
    # A part whose request stalls for a minute is cancelled and re-sent
    # rather than waited for: the upload ends long before the stall would.
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:stall=0.1:60", "--seed", "1"]) as srv:
        start = time.monotonic()
        p, js = cp(srv, mid, "bkt", "stall/long", "--part-size", "1M", "--jobs", "4", "--checkpoint-dir", ck)
        took = time.monotonic() - start
        check_upload(t, srv, mid, "bkt", "stall/long", p, js, "60 s stalls", part_size=PART)
        st = srv.stats()
        t.ok(st["faults"]["stall"] > 0 and took < 30,
             "60 s stalls: %d stalled part(s) re-sent, upload done in %.1f s (< 30)" % (st["faults"]["stall"], took),
             brief(js))

    # ------------------------------------------------------------ 2. bad CRC
    with Ossemu(args=["--anonymous", "--fault", "uploadpart:bad-crc=0.25", "--seed", "11"]) as srv:
        p, js = cp(srv, mid, "bkt", "badcrc/some", "--part-size", "1M", "--jobs", "8", "--checkpoint-dir", ck)
        check_upload(t, srv, mid, "bkt", "badcrc/some", p, js, "bad CRC on some parts", part_size=PART)
        st = srv.stats()
        lies = st["faults"]["bad_crc"]
        t.ok(lies > 0, "bad CRC on some parts: the server lied about %d part(s)" % lies, st["faults"])
        t.ok(js is not None and js["retries"] >= lies,
             "bad CRC on some parts: each lied-about part was re-sent (retries >= lies)", brief(js))
        t.eq(stats_sum(st, "uploadpart", lambda c: c == "200"), nparts + lies,
             "bad CRC on some parts: one extra UploadPart per lie, no more")

    # A single PutObject lied about is re-sent too.
    with Ossemu(args=["--anonymous", "--fault", "putobject:bad-crc=0.6", "--seed", "2"]) as srv:
        one = make_file(os.path.join(d, "one"), 300000, seed=8)
        p, js = cp(srv, one, "bkt", "badcrc/put", "--retries", "8", "--checkpoint-dir", ck)
        check_upload(t, srv, one, "bkt", "badcrc/put", p, js, "bad CRC on a PutObject")
        lies = srv.stats()["faults"]["bad_crc"]
        t.ok(lies > 0 and js is not None and js["retries"] >= lies,
             "bad CRC on a PutObject: the lie fired and the object was re-sent", (lies, brief(js)))

    for name, flags in (("bad CRC on every part", ["--fault", "uploadpart:bad-crc=1"]),
                        ("--bad-crc 1", ["--bad-crc", "1"])):
        with Ossemu(args=["--anonymous", *flags]) as srv:
            p, js = cp(srv, mid, "bkt", "badcrc/all", "--part-size", "1M", "--jobs", "8", "--retries", "2",
                       "--checkpoint-dir", ck)
            t.ok(p.returncode == 4 and js is not None and js["status"] == "E_CHECKSUM" and js["exit_code"] == 4,
                 name + ": exit 4, E_CHECKSUM", "rc=%s %s %s" % (p.returncode, brief(js), p.stderr))
            t.ok(p.stderr.splitlines()[-1:] and p.stderr.splitlines()[-1].startswith("hoist: ")
                 and "CRC" in p.stderr.upper(), name + ": the last stderr line names the CRC", p.stderr)
            t.eq((head_status(srv, "bkt", "badcrc/all"), get_status(srv, "bkt", "badcrc/all")), (404, 404),
                 name + ": no object completed (HEAD, GET 404)")
            st = srv.stats()
            t.eq(stats_sum(st, "complete"), 0, name + ": Complete was never sent")

    # The Complete response lies about the object's CRC64 (ossemu: only the
    # write's header; a HEAD reports the stored, right one): hoist notices,
    # checks by HEAD, and the object is right.
    with Ossemu(args=["--anonymous", "--fault", "complete:bad-crc=1"]) as srv:
        p, js = cp(srv, mid, "bkt", "badcrc/complete", "--part-size", "1M", "--jobs", "8", "--no-resume",
                   "--checkpoint-dir", ck)
        check_upload(t, srv, mid, "bkt", "badcrc/complete", p, js, "Complete lies about the CRC64",
                     part_size=PART, want_verified="head")
        st = srv.stats()
        t.ok(st["faults"]["bad_crc"] == 1 and stats_sum(st, "headobject", lambda c: c == "200") >= 1,
             "Complete lies about the CRC64: the lie fired and hoist checked by HEAD", st["requests"])

    # A store whose Complete and HEAD both report another CRC64 than the
    # parts': hoist cannot prove the object right, so no success.
    with LyingStore("wrong-crc") as liar:
        p, js = cp(liar, mid, "bkt", "k", "--part-size", "1M", "--jobs", "4", "--retries", "1", "--no-resume",
                   "--checkpoint-dir", ck)
        t.ok(p.returncode == 4 and js is not None and js["status"] == "E_CHECKSUM",
             "object CRC64 wrong in Complete and HEAD: exit 4, E_CHECKSUM",
             "rc=%s %s %s" % (p.returncode, brief(js), p.stderr))
        t.ok(liar.completes >= 1 and liar.heads >= 1,
             "object CRC64 wrong: Complete (%d) and HEAD (%d) were asked" % (liar.completes, liar.heads))

    # A 200 Complete whose body is an <Error>: an error, never a success.
    with LyingStore("error-body") as liar:
        p, js = cp(liar, mid, "bkt", "k", "--part-size", "1M", "--jobs", "4", "--retries", "2",
                   "--checkpoint-dir", ck)
        t.ok(p.returncode == 3 and js is not None and js["status"] != "OK"
             and js["failed_operation"] == "CompleteMultipartUpload" and "InternalError" in p.stderr,
             "200 Complete with an <Error> body: exit 3 naming CompleteMultipartUpload and InternalError",
             "rc=%s %s %s" % (p.returncode, brief(js, "status", "failed_operation", "error_code"), p.stderr))
        t.ok(liar.completes >= 1, "200 Complete with an <Error> body: the Complete was sent (%d time(s))"
             % liar.completes)

    # ------------------------------------------------------------ 3. Complete retried
    size = os.path.getsize(mid)
    # Fault decisions are a pure function of the seed and the request's
    # identity: these seeds make the first Complete attempts fail (fail: 4
    # times with 500/503; reset: twice), which the checks below confirm.
    for kind, seed in (("fail=0.5", "0"), ("reset=0.5", "1")):
        with Ossemu(args=["--anonymous", "--fault", "complete:" + kind, "--seed", seed]) as srv:
            name = "Complete %s" % kind.split("=")[0]
            p, js = cp(srv, mid, "bkt", "complete/" + kind[:4], "--part-size", "1M", "--jobs", "8",
                       "--retries", "10", "--checkpoint-dir", ck)
            check_upload(t, srv, mid, "bkt", "complete/" + kind[:4], p, js, name + " transiently",
                         part_size=PART)
            st = srv.stats()
            bad = stats_sum(st, "complete", lambda c: c != "200")
            t.ok(bad > 0 and stats_sum(st, "complete", lambda c: c == "200") == 1,
                 "%s: the Complete failed %d time(s), then succeeded once" % (name, bad), st["requests"])
            t.eq(stats_sum(st, "uploadpart"), nparts, name + ": no part was sent twice")
            t.ok(size <= st["bytes_in"] <= size + SLACK,
                 name + ": bytes received ~= the file size (%d for %d)" % (st["bytes_in"], size))
            t.eq(ls_uploads(srv.url), [], name + ": no multipart upload left open")
t.done()
