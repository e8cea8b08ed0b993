"""test_cli_errors - how hoist cp fails, and that it fails loudly.

Each failure must give the right exit code and exactly one stderr line
"hoist: ..." naming what went wrong (server code and request id where a
server answered), and must not leave a wrong object behind:
wrong secret (SignatureDoesNotMatch, the request id), missing bucket
(NoSuchBucket), an unreachable endpoint (a closed loopback port), a path
that is not a readable file, `ossemu --bad-crc` (checksum mismatch: exit 4
and no object), and `ossemu --no-crc` (success, verified by HEAD).
Secrets never appear in any output.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
SECRET = "wrong-secret-do-not-print"


def one_line(p):
    lines = p.stderr.splitlines()
    return len(lines) == 1 and lines[0].startswith("hoist: ")


with TempDir() as d:
    small = make_file(os.path.join(d, "small"), 5000, seed=1)
    multi = make_file(os.path.join(d, "multi"), 5 * 102400 + 3, seed=2)

    with Ossemu(args=["--anonymous"]) as srv:
        # Wrong secret: the server's code and request id reach the user.
        for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"]),
                                  ("v1", small, ["--signature", "v1"])):
            p, js = cp(srv, path, "bkt", "wrong", "--no-resume", *extra,
                       env={"OSS_ACCESS_KEY_SECRET": SECRET})
            rid = (js or {}).get("error_request_id") or ""
            t.ok(p.returncode == 3 and one_line(p) and "SignatureDoesNotMatch" in p.stderr,
                 "wrong secret, %s: exit 3, one line naming SignatureDoesNotMatch" % name,
                 "rc=%s stderr=%s" % (p.returncode, p.stderr))
            t.ok(rid and rid in p.stderr, "wrong secret, %s: the line carries the request id" % name,
                 "request id %r, stderr %s" % (rid, p.stderr))
            t.ok(js and js["status"] == "E_AUTH" and js["error_code"] == "SignatureDoesNotMatch"
                 and js["http_status"] == 403, "wrong secret, %s: JSON status E_AUTH, code, 403" % name, js)
            t.ok(SECRET not in p.stdout + p.stderr, "wrong secret, %s: the secret is never printed" % name)
        t.eq(head_status(srv, "bkt", "wrong"), 404, "wrong secret: no object")

        # Missing bucket.
        for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"])):
            p, js = cp(srv, path, "nobucket", "k", "--no-resume", *extra)
            t.ok(p.returncode == 3 and one_line(p) and "NoSuchBucket" in p.stderr,
                 "missing bucket, %s: exit 3, one line naming NoSuchBucket" % name,
                 "rc=%s stderr=%s" % (p.returncode, p.stderr))
            t.ok(js and js["status"] == "E_NOT_FOUND", "missing bucket, %s: JSON status E_NOT_FOUND" % name, js)

        # Not a readable file: a missing path, a directory.
        for name, path in (("missing path", os.path.join(d, "does-not-exist")), ("directory", d)):
            p, js = cp(srv, path, "bkt", "nofile")
            t.ok(p.returncode == 3 and one_line(p) and path in p.stderr,
                 "%s: exit 3, one line naming the path" % name, "rc=%s stderr=%s" % (p.returncode, p.stderr))
            t.ok(js and js["status"] == "E_IO" and path in js["message"], "%s: JSON status E_IO" % name, js)
        t.eq(head_status(srv, "bkt", "nofile"), 404, "unreadable file: no object")

    # Unreachable endpoint: a closed port on 127.0.0.1 (connection refused).
    port = closed_port()
    start = time.monotonic()
    p = hoist("cp", small, "oss://bkt/k", "--endpoint", "http://127.0.0.1:%d" % port,
              "--retries", "1", "--connect-timeout", "3")
    took = time.monotonic() - start
    t.ok(p.returncode == 3 and one_line(p) and ("127.0.0.1" in p.stderr or "onnect" in p.stderr),
         "unreachable endpoint: exit 3, one line about the connection",
         "rc=%s stderr=%s" % (p.returncode, p.stderr))
    t.ok(took < 30, "unreachable endpoint: gives up in bounded time (%.1f s)" % took)

    # --bad-crc: the server misreports CRC64; hoist must catch it and never
    # complete the object.
    with Ossemu(args=["--anonymous", "--bad-crc", "1"]) as srv:
        for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"])):
            key = "badcrc-" + name.replace(" ", "-")
            p, js = cp(srv, path, "bkt", key, "--retries", "1", "--no-resume", *extra)
            t.ok(p.returncode == 4 and one_line(p) and "CRC" in p.stderr.upper(),
                 "--bad-crc, %s: exit 4 with one line about the CRC" % name,
                 "rc=%s stderr=%s" % (p.returncode, p.stderr))
            t.ok(js and js["status"] == "E_CHECKSUM", "--bad-crc, %s: JSON status E_CHECKSUM" % name, js)
            if name == "multipart":
                t.eq(head_status(srv, "bkt", key), 404, "--bad-crc, multipart: nothing completed (HEAD 404)")

    # --no-crc: the server omits x-oss-hash-crc64ecma; hoist verifies by HEAD and says so.
    with Ossemu(args=["--anonymous", "--no-crc"]) as srv:
        for name, path, extra in (("single put", small, []), ("multipart", multi, ["--part-size", "100K"])):
            key = "nocrc-" + name.replace(" ", "-")
            p, js = cp(srv, path, "bkt", key, *extra)
            check_upload(t, srv, path, "bkt", key, p, js, "--no-crc " + name, want_verified="head")
        p = hoist("cp", multi, "oss://bkt/nocrc-human", "--endpoint", srv.url, "--part-size", "100K")
        t.ok(p.returncode == 0 and "verified by HEAD" in p.stdout, "--no-crc: the printout says verified by HEAD",
             p.stdout + p.stderr)
t.done()
