"""test_reliability_common - helpers the test_reliability_*.py files share,
and their own check.

Imported by the reliability tests (issue 5: faults, resume, files that
change, secrets).  Run as a script (tests/run.sh runs every
tests/integration/*.py) it checks the oracles those tests lean on, so a
reliability test can never pass because its instrument is blind: the
recording proxy sees every Authorization header that crosses it, the leak
scanner finds a planted secret in output and in files, and /-/stats deltas
and ls-uploads read what the server really holds.

Journals: test_cli_common points XDG_CACHE_HOME at a private temporary
directory at import; every test here also passes its own --checkpoint-dir.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F401,F403
from test_cli_common import AK, SK, cp, object_url  # noqa: E402

CRED_ENV = {"OSS_ACCESS_KEY_ID": AK, "OSS_ACCESS_KEY_SECRET": SK}


# ------------------------------------------------------------ running hoist

def start_cp(url, path, key, *args, env=None, bucket="bkt"):
    """hoist cp PATH oss://BUCKET/KEY --endpoint URL --json ARGS in the
    background (subprocess.Popen, text pipes)."""
    e = dict(os.environ, **CRED_ENV)
    if env:
        e.update(env)
    cmd = [HOIST, "cp", path, "oss://%s/%s" % (bucket, key), "--endpoint", url, "--json", *args]
    return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=120):
    """Waits for a start_cp process: (returncode, stdout, stderr, JSON or None).
    A process still running after timeout is killed (and reported as such
    by its returncode, -9)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\n(test: killed after %s s)" % timeout
    try:
        js = json.loads(out)
    except ValueError:
        js = None
    return proc.returncode, out, err, js


def kill9(proc):
    """SIGKILL and reap; returns True if the process was still running (so
    the kill really interrupted it)."""
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return alive


def brief(js, *fields):
    fields = fields or ("status", "exit_code", "retries", "bytes_sent", "resumed_parts", "message")
    return {k: (js or {}).get(k) for k in fields}


# ----------------------------------------------------------- server state

def stats_sum(st, op, pred=lambda code: True):
    """Requests of operation op in a /-/stats document whose status passes pred."""
    return sum(n for code, n in st["requests"].get(op, {}).items() if pred(code))


def is_5xx(code):
    return code.isdigit() and code.startswith("5")


def wait_stats(srv, cond, timeout=60, interval=0.01):
    """Polls /-/stats until cond(stats) holds; returns the stats or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        st = srv.stats()
        if cond(st):
            return st
        time.sleep(interval)
    return None


def ls_uploads(url, prefix=""):
    """[(key, upload_id)] of the multipart uploads open under oss://bkt/PREFIX,
    through hoist ls-uploads --json (None when the command failed)."""
    p = hoist("ls-uploads", "oss://bkt/" + prefix, "--endpoint", url, "--json")
    try:
        js = json.loads(p.stdout)
    except ValueError:
        return None
    if p.returncode != 0:
        return None
    return [(u["key"], u["upload_id"]) for u in js["uploads"]]


def get_status(srv, bucket, key):
    """Status of an anonymous GET (ossemu --anonymous)."""
    try:
        with urllib.request.urlopen(object_url(srv, bucket, key), timeout=60) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def delete_object(srv, bucket, key):
    """Anonymous DELETE, to keep the data directory small between uploads."""
    req = urllib.request.Request(object_url(srv, bucket, key), method="DELETE")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names]
    return sorted(out)


def journals(d):
    """Journal files under a checkpoint directory (temporaries excluded)."""
    return [f for f in files_under(d) if f.endswith(".journal")]


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------- secrets: proxy and scanner

# The line end is a lookahead so that consecutive headers all match.
_AUTH_RE = re.compile(rb"\r\n(authorization|x-oss-security-token|x-amz-security-token):[ \t]*([^\r\n]*)(?=\r\n)",
                      re.IGNORECASE)


class RecordingProxy:
    """A loopback TCP relay in front of a server that records the value of
    every Authorization and security-token header that crosses it (and the
    signature inside each Authorization), so a test knows exactly which
    signatures hoist put on the wire and can look for them in its output.

    Relays bytes unchanged, in both directions; a 16 KiB window carried
    across reads so a header split between two reads is still seen."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.values = set()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.target, timeout=10)
                s.settimeout(None)
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pump, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False), daemon=True).start()

    def _pump(self, src, dst, record):
        tail = b""
        try:
            while True:
                b = src.recv(1 << 16)
                if not b:
                    break
                if record:
                    win = tail + b
                    for m in _AUTH_RE.finditer(win):
                        self._record(m.group(1).lower(), m.group(2))
                    tail = win[-16384:]
                dst.sendall(b)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _record(self, name, value):
        v = value.decode("latin-1").strip()
        found = {v}
        if name == b"authorization":
            # V4/SigV4 "... Signature=<hex>"; V1 "OSS AK:<base64>".
            m = re.search(r"Signature=([0-9a-fA-F]+)", v)
            if m:
                found.add(m.group(1))
            m = re.match(r"OSS ([^:\s]+):(\S+)$", v)
            if m:
                found.add(m.group(2))
        with self.lock:
            self.values |= {x for x in found if len(x) >= 8}

    def recorded(self):
        with self.lock:
            return set(self.values)

    def close(self):
        self.closing = True
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def leaks(text, needles):
    """The needles (case-insensitively) found in text: [] when clean."""
    low = text.lower()
    return sorted({n for n in needles if n and n.lower() in low})


def file_leaks(paths, needles):
    """{path: [needles found]} over files (read as bytes, decoded loosely)."""
    out = {}
    for p in paths:
        with open(p, "rb") as f:
            found = leaks(f.read().decode("latin-1"), needles)
        if found:
            out[p] = found
    return out


if __name__ == "__main__":
    t = Tap()
    with TempDir() as d:
        # The scanner finds a planted secret in text and in a file, in any case.
        t.eq(leaks("x-oss: AUTHORIZATION here", ["Authorization", "nope"]), ["Authorization"],
             "leak scanner: finds a needle whatever its case")
        planted = os.path.join(d, "sub", "j.journal")
        os.makedirs(os.path.dirname(planted))
        with open(planted, "w") as f:
            f.write("key abc\nsecret PLANTED-s3cr3t\n")
        t.eq(file_leaks(files_under(d), ["planted-S3CR3T"]), {planted: ["planted-S3CR3T"]},
             "leak scanner: finds a secret planted in a file under a directory")
        t.eq(journals(d), [planted], "journals(): lists .journal files recursively")

        # The proxy records what crosses it: a V1-signed request (the Python
        # signer of test_cli_common) and hoist's own V4 upload through it.
        with Ossemu(args=["--anonymous"]) as srv, RecordingProxy(srv.port) as px:
            date = "Wed, 28 Dec 2022 10:27:41 GMT"
            sock = socket.create_connection(("127.0.0.1", int(px.url.rsplit(":", 1)[1])))
            auth = "OSS ak:abcdefghijklmnopqrstuvwxyz0="
            req = ("GET /bkt/none HTTP/1.1\r\nHost: x\r\nDate: %s\r\nx-oss-security-token: tok-123456789\r\n"
                   "Authorization: %s\r\nConnection: close\r\n\r\n" % (date, auth)).encode()
            sock.sendall(req[:40])
            time.sleep(0.05)
            sock.sendall(req[40:])  # a header split across two reads
            reply = b""
            while True:
                b = sock.recv(4096)
                if not b:
                    break
                reply += b
            sock.close()
            rec = px.recorded()
            t.ok(auth in rec and "abcdefghijklmnopqrstuvwxyz0=" in rec and "tok-123456789" in rec,
                 "proxy: records a token and the V1 Authorization right after it, split across reads, "
                 "and its signature", rec)
            t.ok(reply.startswith(b"HTTP/1.1 403"), "proxy: relays the server's answer (403 for a bad signature)",
                 reply[:200])
            f = make_file(os.path.join(d, "f"), 300 * 1024, seed=3)
            p, js = cp(px, f, "bkt", "via-proxy", "--part-size", "100K", "--no-resume")
            sigs = [v for v in px.recorded() if re.fullmatch(r"[0-9a-f]{64}", v)]
            t.ok(p.returncode == 0 and len(sigs) >= 5,
                 "proxy: an upload through it works and its V4 signatures (Initiate, 3 parts, Complete) are seen",
                 "rc=%s sigs=%d %s" % (p.returncode, len(sigs), p.stderr))
            st = srv.stats()
            t.eq(stats_sum(st, "uploadpart", lambda c: c == "200"), 3, "stats_sum: counts UploadPart 200s")
            t.eq(ls_uploads(srv.url), [], "ls_uploads: none open after a completed upload")
            t.eq(get_status(srv, "bkt", "via-proxy"), 200, "get_status: the object is there")
            t.ok(delete_object(srv, "bkt", "via-proxy") in (200, 204) and get_status(srv, "bkt", "via-proxy") == 404,
                 "delete_object: the object is gone after")
    t.done()
