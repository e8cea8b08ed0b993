"""test_cli_callback - OSS upload callbacks through hoist cp.

A local receiver (Python http.server on a loopback port) stands in for the
user's application server; ossemu POSTs the substituted callback body to it
after storing the object, as OSS does.  Checked: the body the receiver got
(system variables and an x: variable, URL-encoded), the Host and
Content-Type it was sent with, the receiver's reply passed back to hoist's
output, and a failing receiver (HTTP 500 -> OSS 203 CallbackFailed): exit
5, one line naming CallbackFailed, and the object still stored.
"""
import os
import sys
from urllib.parse import parse_qs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
TEMPLATE = ("bucket=${bucket}&object=${object}&size=${size}&crc64=${crc64}"
            "&etag=${etag}&mime=${mimeType}&uid=${x:uid}&note=${x:note}")

with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    small = make_file(os.path.join(d, "small"), 7777, seed=1)
    multi = make_file(os.path.join(d, "multi"), 4 * 102400 + 9, seed=2)

    for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"])):
        key = "cb/%s file+x.bin" % name.replace(" ", "-")
        reply = b'{"accepted":true,"who":"receiver \\u00e9"}'
        with CallbackReceiver(200, reply) as rcv:
            p, js = cp(srv, path, "bkt", key, *extra,
                       "--callback-url", rcv.url, "--callback-body", TEMPLATE,
                       "--callback-host", "app.example.com",
                       "--callback-var", "x:uid=42", "--callback-var", "x:note=a b&c=d")
            check_upload(t, srv, path, "bkt", key, p, js, "callback, " + name)
            t.eq(len(rcv.requests), 1, "callback, %s: the receiver got one POST" % name)
            if rcv.requests:
                r = rcv.requests[0]
                q = parse_qs(r["body"].decode(), keep_blank_values=True)
                got = {k: v[0] for k, v in q.items()}
                want = {"bucket": "bkt", "object": key, "size": str(os.path.getsize(path)),
                        "crc64": str(file_crc64(path)), "uid": "42", "note": "a b&c=d"}
                t.eq({k: got.get(k) for k in want}, want,
                     "callback, %s: substituted body (system and x: variables)" % name)
                t.eq(got.get("etag", "").strip('"'), (js or {}).get("etag", "").strip('"'),
                     "callback, %s: ${etag} is the object's ETag" % name)
                t.eq(r["headers"].get("Host"), "app.example.com", "callback, %s: --callback-host" % name)
                t.ok(r["headers"].get("Content-Type", "").startswith("application/x-www-form-urlencoded"),
                     "callback, %s: default body type" % name, r["headers"])
            t.eq((js or {}).get("callback_body"), reply.decode(), "callback, %s: reply passed to hoist" % name)

    # The human printout shows the reply; a JSON body type is sent as such.
    with CallbackReceiver(200, b'{"ok":1}') as rcv:
        p = hoist("cp", small, "oss://bkt/cb-human", "--endpoint", srv.url,
                  "--callback-url", rcv.url, "--callback-body", '{"size":${size}}',
                  "--callback-body-type", "application/json")
        t.ok(p.returncode == 0 and '{"ok":1}' in p.stdout, "callback: printout shows the reply",
             p.stdout + p.stderr)
        ok = len(rcv.requests) == 1
        t.ok(ok and rcv.requests[0]["headers"].get("Content-Type", "").startswith("application/json")
             and str(os.path.getsize(small)).encode() in rcv.requests[0]["body"],
             "callback: --callback-body-type application/json", rcv.requests)

    # A failing receiver: OSS answers 203 CallbackFailed; the object is stored.
    for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"])):
        key = "cb-fail-" + name.replace(" ", "-")
        with CallbackReceiver(500, b'{"error":"nope"}') as rcv:
            p, js = cp(srv, path, "bkt", key, *extra, "--callback-url", rcv.url,
                       "--callback-body", "object=${object}")
        lines = p.stderr.splitlines()
        t.ok(p.returncode == 5 and len(lines) == 1 and "CallbackFailed" in p.stderr,
             "failing callback, %s: exit 5, one line naming CallbackFailed" % name,
             "rc=%s stderr=%s" % (p.returncode, p.stderr))
        t.ok(js and js["status"] == "E_CALLBACK" and js["http_status"] == 203,
             "failing callback, %s: JSON status E_CALLBACK, HTTP 203" % name, js)
        digest, n = object_sha256(srv, "bkt", key)
        t.eq((digest, n), (file_sha256(path), os.path.getsize(path)),
             "failing callback, %s: the object is stored, byte for byte" % name)
t.done()
