#!/usr/bin/env python3
"""ossemu upload callbacks (docs/oss-protocol.md §5) against a local
http.server receiver: variables substituted (form and JSON bodies,
x-oss-callback-var), callbackHost honoured, the app's answer relayed with
200, a failing or unreachable app -> 203 CallbackFailed with the object
kept, an invalid callback refused before anything is stored.
"""
import base64
import hashlib
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from hoisttest import Ossemu, Tap, crc64  # noqa: E402
from osssign import Client, exit_ok, code_of, complete_body, error_of, xml_text  # noqa: E402

t = Tap()
seen = []


class App(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
        if self.path.startswith("/fail"):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out = json.dumps({"Status": "OK", "n": len(seen)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
threading.Thread(target=app.serve_forever, daemon=True).start()
APP = f"http://127.0.0.1:{app.server_address[1]}"
# A port nothing listens on: bind, learn the number, close.
s = socket.socket()
s.bind(("127.0.0.1", 0))
DEAD = f"http://127.0.0.1:{s.getsockname()[1]}"
s.close()


def b64json(d):
    return base64.b64encode(json.dumps(d).encode()).decode()


VARS = "eyJ4OnVpZCI6ICIxMjM0NSIsICJ4Om9yZGVyX2lkIjogIjY3ODkwIn0="  # §5.1 doc vector
FORM = ("bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}"
        "&crc64=${crc64}&uid=${x:uid}&oid=${x:order_id}")

with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
    for scheme in ("v1", "v4"):
        c = Client(srv.url, scheme=scheme)
        data = os.urandom(4096)
        key = f"cb/{scheme}/put me.txt"
        n0 = len(seen)
        cb = b64json({"callbackUrl": APP + "/ok?x=1", "callbackHost": "app.example",
                      "callbackBody": FORM})
        r = c.request("PUT", "bkt", key, body=data,
                      headers={"x-oss-callback": cb, "x-oss-callback-var": VARS,
                               "Content-Type": "text/plain"})
        t.ok(r.status == 200 and json.loads(r.body) == {"Status": "OK", "n": n0 + 1} and
             r.header("content-type") == "application/json" and
             r.header("etag") == f'"{hashlib.md5(data).hexdigest().upper()}"' and
             r.header("x-oss-hash-crc64ecma") == str(crc64(data)),
             f"{scheme} PutObject with callback: 200, the app's JSON relayed, ETag and CRC kept",
             f"{r.status} {r.headers} {r.body!r}")
        got = seen[-1] if len(seen) > n0 else {"headers": {}, "body": b"", "path": ""}
        form = urllib.parse.parse_qs(got["body"].decode())
        t.ok(got["path"] == "/ok?x=1" and got["headers"].get("Host") == "app.example" and
             got["headers"].get("Content-Type") == "application/x-www-form-urlencoded",
             f"{scheme}: POST to callbackUrl's path with Host from callbackHost, form type",
             str(got["headers"]))
        t.eq({k: v[0] for k, v in form.items()},
             {"bucket": "bkt", "object": key, "etag": hashlib.md5(data).hexdigest().upper(),
              "size": str(len(data)), "mimeType": "text/plain", "crc64": str(crc64(data)),
              "uid": "12345", "oid": "67890"},
             f"{scheme}: every variable substituted (URL-encoded), x: vars from callback-var")
        t.eq(c.request("GET", "bkt", key).body, data, f"{scheme}: the object is stored")

    c = Client(srv.url)
    # Complete with a JSON body.
    key = "cb/multi part.bin"
    p1, p2 = os.urandom(120 * 1024), os.urandom(999)
    uid = xml_text(c.request("POST", "bkt", key, query={"uploads": None}).body, "UploadId")
    e1 = c.request("PUT", "bkt", key, query={"partNumber": "1", "uploadId": uid}, body=p1).header("etag")
    e2 = c.request("PUT", "bkt", key, query={"partNumber": "2", "uploadId": uid}, body=p2).header("etag")
    cb = b64json({"callbackUrl": APP + "/json", "callbackBodyType": "application/json",
                  "callbackBody": '{"object":${object},"size":${size},"etag":"${etag}",'
                                  '"crc":${crc64},"uid":${x:uid}}'})
    r = c.request("POST", "bkt", key, query={"uploadId": uid}, body=complete_body([(1, e1), (2, e2)]),
                  headers={"x-oss-callback": cb, "x-oss-callback-var": VARS})
    got = seen[-1]
    sent = json.loads(got["body"]) if got["path"] == "/json" else {}
    cat = (e1.strip('"') + e2.strip('"')).encode()
    final = f"{hashlib.md5(cat).hexdigest().upper()}-2"
    t.ok(r.status == 200 and json.loads(r.body).get("Status") == "OK" and
         r.header("x-oss-hash-crc64ecma") == str(crc64(p1 + p2)),
         "Complete with callback: 200 and the app's body", f"{r.status} {r.body!r}")
    t.eq(sent, {"object": key, "size": len(p1) + len(p2), "etag": final, "crc": str(crc64(p1 + p2)),
                "uid": "12345"},
         "JSON callback body: strings quoted, size a number, etag of the whole object")
    t.eq(got["headers"].get("Content-Type"), "application/json", "JSON callback Content-Type")
    t.eq(c.request("GET", "bkt", key).body, p1 + p2, "the completed object is stored")

    # A variable further into a JSON string ("dir/${object}") is string
    # content, escaped, not a quoted string of its own (fuzzing finding,
    # issue 5); the key has quotes and a backslash to escape.
    key = 'cb/q"uote\\d.txt'
    cb = b64json({"callbackUrl": APP + "/json-in-string", "callbackBodyType": "application/json",
                  "callbackBody": '{"path":"dir/${object}","tag":"<${x:uid}>","size":${size}}'})
    r = c.request("PUT", "bkt", key, body=b"12345",
                  headers={"x-oss-callback": cb, "x-oss-callback-var": VARS})
    got = seen[-1] if seen[-1]["path"] == "/json-in-string" else {"body": b""}
    try:
        sent = json.loads(got["body"])
    except ValueError:
        sent = None
    t.ok(r.status == 200 and sent == {"path": "dir/" + key, "tag": "<12345>", "size": 5},
         "JSON callback body: ${var} inside a string arrives as valid JSON, escaped",
         f"{r.status} {got['body']!r}")

    # Failing app: 203 CallbackFailed, object kept.
    for name, url, msg in (("answers 500", APP + "/fail", "Error status : 500."),
                           ("is unreachable", DEAD + "/x", "Error status : -1")):
        data = os.urandom(100)
        k = "cb/failed " + name
        r = c.request("PUT", "bkt", k, body=data,
                      headers={"x-oss-callback": b64json({"callbackUrl": url, "callbackBody": "a=b"})})
        e = error_of(r)
        t.ok(r.status == 203 and e.get("Code") == "CallbackFailed" and
             e.get("EC") == "0007-00000203" and e.get("Message", "").startswith(msg) and
             r.header("etag") == f'"{hashlib.md5(data).hexdigest().upper()}"',
             f"app {name}: 203 CallbackFailed ({msg}), ETag still sent", f"{r.status} {r.body!r}")
        t.eq(c.request("GET", "bkt", k).body, data, f"app {name}: the object is kept")
    # Several URLs: the first that answers 200 wins.
    r = c.request("PUT", "bkt", "cb/multi-url", body=b"m",
                  headers={"x-oss-callback": b64json({"callbackUrl": DEAD + "/a;" + APP + "/b",
                                                      "callbackBody": "x=${size}"})})
    t.ok(r.status == 200 and seen[-1]["path"] == "/b" and seen[-1]["body"] == b"x=1",
         "callbackUrl list: the next URL is tried after a failure")

    # Invalid callbacks are refused before anything is stored.
    for name, hdr in (("not base64 JSON", base64.b64encode(b"{not json").decode()),
                      ("without callbackUrl", b64json({"callbackBody": "a"})),
                      ("with an empty body", b64json({"callbackUrl": APP, "callbackBody": ""})),
                      ("nested", b64json({"callbackUrl": APP, "callbackBody": {"a": 1}})),
                      ("with a number 1abc", base64.b64encode(
                          b'{"callbackUrl":"http://a/","callbackBody":"a","n":1abc}').decode()),
                      ("with a number 01", base64.b64encode(
                          b'{"callbackUrl":"http://a/","callbackBody":"a","n":01}').decode()),
                      ("with a number 1e", base64.b64encode(
                          b'{"callbackUrl":"http://a/","callbackBody":"a","n":1e}').decode()),
                      ("with a NUL after a number", base64.b64encode(
                          b'{"callbackUrl":"http://a/","callbackBody":"a","n":1\0\0}').decode())):
        r = c.request("PUT", "bkt", "cb/invalid", body=b"x", headers={"x-oss-callback": hdr})
        t.ok(r.status == 400 and code_of(r) == "InvalidArgument",
             f"callback {name} -> 400 InvalidArgument", f"{r.status} {r.body!r}")
        if "number" in name:
            t.eq(error_of(r).get("Message"), "The callback configuration is not json format.",
                 f"callback {name}: the message real OSS gives")
    t.eq(c.request("HEAD", "bkt", "cb/invalid").status, 404, "... and no object was stored")
    # JSON-grammar numbers and the literals are still accepted.
    r = c.request("PUT", "bkt", "cb/numbers", body=b"n",
                  headers={"x-oss-callback": base64.b64encode(
                      ('{"callbackUrl":"%s/num","callbackBody":"a=1","a":0,"b":-12.5e+3,'
                       '"c":1E-2,"d":true,"e":false,"f":null}' % APP).encode()).decode()})
    t.ok(r.status == 200 and seen[-1]["path"] == "/num",
         "callback with numbers 0, -12.5e+3, 1E-2 and true/false/null accepted", f"{r.status} {r.body!r}")
    ok, why = exit_ok(srv)
    t.ok(ok, "ossemu (defaults) exits 0 without sanitizer reports", why)

app.shutdown()
t.done()
