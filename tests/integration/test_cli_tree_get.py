"""test_cli_tree_get - hoist cp -r oss://BUCKET/PREFIX/ DIR (issue 16, downloads).

Real HTTP to ossemu.

- A tree with nested directories, empty files, names with spaces, '+',
  '%41', UTF-8, 'a-b' beside 'a/b' and a multipart-sized object is
  uploaded with hoist cp -r, then downloaded into an empty directory: the
  two trees are equal byte for byte (our own diff -r: the same set of
  relative paths, each file's bytes equal), one GET per small object,
  one "received" JSON line per key and no temporary file left behind.
- A key ending in '/' (PUT directly) makes an empty directory.
- --skip-existing: a second run fetches nothing (server stats: no GET, no
  HEAD); an object replaced since is fetched alone; a local file of another
  size is fetched again.
- A malicious bucket ('../evil', '/abs', 'a/../../b', './x', 'x//y', PUT
  directly with osssign's Client): nothing is created outside DIR, each
  refusal is on its own stderr line naming the key, the good key lands,
  exit 7.
- --include/--exclude on the relative key; a directory on the way that is
  a symlink planted in DIR is not followed (that file fails, exit 7).
- A local write that fails (ulimit -f) on small files, which the loop
  writes as their bytes come: those files fail naming the errno, the
  others land whole, nothing partial or temporary is left, exit 7.
- Durability by one syncfs: under strace, a download of 1,205 files (two
  listing pages, more files than --files 64 in flight) makes no fsync or
  fdatasync and exactly one syncfs, and every file is byte-equal.
- The S3 dialect (s3://).
- A key with a NUL byte (a proxy in front of ossemu turns its listings'
  %01 into %00): ls shows it url-encoded and flagged, cp -r refuses it by
  name and writes the others (exit 7), rm -r deletes the others and names
  it (exit 7), cp -r up --skip-existing does not take it for a file named
  'a%00b'; nothing treats it as the key cut at the NUL.
- Faults: a store that corrupts 30 % of GET bodies (ossemu --fault
  getobject:corrupt) and fails 10 % of HEADs with 500: every file written
  is byte-exact, every file not written is reported (exit 7, one line
  each), nothing temporary is left, and reruns with --skip-existing fetch
  only what is missing until the set is complete.
- No HEAD per file: the listing's size and ETag pin each GET (If-Match);
  a listing gone stale (objects replaced between the listing and their
  GETs, ossemu --latency) fails those files as changed (exit 7), never
  written; every GET body corrupted: each file fails its CRC64 check
  (the GET's own header), nothing written.
- The pacer: at ossemu --latency 40 the slots in flight grow from 8 to at
  least 32 of --jobs 64 (--verbose's last line), and --jobs 4 stays the
  ceiling; every file whole.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
from osssign import Client, xml_doc  # noqa: E402
import calendar  # noqa: E402
import http.client  # noqa: E402
import http.server  # noqa: E402
import threading  # noqa: E402

t = Tap()
NOENV = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def tree_of(root):
    """{relative path: bytes} of the regular files, and the set of dirs."""
    files, dirs = {}, set()
    for dp, dns, fns in os.walk(root):
        for n in dns:
            dirs.add(os.path.relpath(os.path.join(dp, n), root))
        for n in fns:
            p = os.path.join(dp, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root)] = f.read()
    return files, dirs


def run(srv, *args, env=None):
    p = hoist("cp", "-r", *args, "--endpoint", srv.url, "--json", env=env, timeout=600)
    lines = []
    for ln in p.stdout.splitlines():
        try:
            lines.append(json.loads(ln))
        except ValueError:
            lines.append({"unparsed": ln})
    summ = lines[-1] if lines and lines[-1].get("summary") else None
    return p, [x for x in lines if "file" in x], summ


def ops(srv):
    out = {}
    for op, by in srv.stats()["requests"].items():
        if op == "stats":
            continue
        out[op] = sum(n for code, n in by.items() if code.startswith("2"))
    return out


def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def put(srv, key, body, scheme="v1", bucket="bkt"):
    r = Client(srv.url, scheme=scheme).request("PUT", bucket, key, body=body)
    assert r.status == 200, (key, r.status, r.body)


with TempDir() as d, Ossemu(buckets=("bkt", "evil")) as srv:
    src = os.path.join(d, "src")
    files = {
        "a-b": b"dash",
        "a/b/deep/x.txt": b"deep text",
        "a/b/y": b"y" * 1000,
        "a/empty": b"",
        "empty": b"",
        "d e+f": b"space and plus",
        "%41": b"percent",
        "z/\u00fc\u00e9/\u65e5\u672c.txt": "utf-8".encode(),
        "plus+/p p": b"p",
        "big.bin": os.urandom(3 * MiB + 12345),
    }
    for rel, data in files.items():
        write(os.path.join(src, rel), data)
    p = hoist("cp", "-r", src, "oss://bkt/t1/", "--endpoint", srv.url, "--quiet")
    t.ok(p.returncode == 0, "the source tree is uploaded with hoist cp -r", p.stderr)
    put(srv, "t1/emptydir/", b"")

    dst = os.path.join(d, "dst")
    s0 = ops(srv)
    p, per, summ = run(srv, "oss://bkt/t1/", dst, "--part-size", "1M")
    d0 = delta(s0, ops(srv))
    got, dirs = tree_of(dst)
    t.ok(p.returncode == 0 and summ and summ["received"] == len(files) and summ["failed"] == 0,
         "download: exit 0, every file received", p.stdout[-800:] + p.stderr)
    t.eq(sorted(got), sorted(files), "download: the same relative paths as the source (no temporaries left)")
    t.ok(all(got.get(r) == b for r, b in files.items()), "download: every file byte-equal to its source")
    t.ok("emptydir" in dirs and summ and summ["directories"] == 1,
         "a key ending in '/' made an empty directory", sorted(dirs))
    t.eq(sorted(x["file"] for x in per if x["action"] == "received"), sorted(files),
         "--json: one 'received' line per file")
    t.ok(all(x.get("verified") for x in per if x["action"] == "received" and x["bytes"]),
         "--json: every non-empty file verified (CRC64)", [x for x in per if not x.get("verified")][:3])
    # 9 small objects: one GET each; big.bin in 4 ranges of 1 MiB.
    t.eq(d0.get("getobject"), 9 + 4, "one GET per small object, one per range of the big one (%r)" % d0)
    # The listing gave each key's size and ETag: no HEAD but for the two
    # 0-byte objects (no body to check a GET's headers before) and the
    # object of several ranges.
    t.eq(d0.get("headobject"), 3, "no HEAD per file: only the empty objects and the multi-range one (%r)" % d0)
    t.eq(d0.get("listobjects"), 1, "one listing")

    # Each file's mtime is the object's LastModified (an independent listing).
    r = Client(srv.url).request("GET", "bkt", None, query={"list-type": "2", "prefix": "t1/"})
    lm = {c.findtext("Key"): calendar.timegm(time.strptime(c.findtext("LastModified")[:19], "%Y-%m-%dT%H:%M:%S"))
          for c in xml_doc(r.body).findall("Contents")}
    bad = [rel for rel in files if int(os.stat(os.path.join(dst, rel)).st_mtime) != lm.get("t1/" + rel)]
    t.ok(r.status == 200 and not bad, "every file's mtime is its object's LastModified", bad[:3])

    # ---- --skip-existing: nothing fetched again
    s1 = ops(srv)
    p, per, summ = run(srv, "oss://bkt/t1/", dst, "--skip-existing")
    d1 = delta(s1, ops(srv))
    t.ok(p.returncode == 0 and summ and summ["received"] == 0 and summ["existing"] == len(files),
         "--skip-existing rerun: nothing received, all existing", p.stdout[-600:] + p.stderr)
    t.eq(d1, {"listobjects": 1}, "--skip-existing rerun: no GET, no HEAD (server stats)")

    # An object replaced since (newer last-modified, another size), and a
    # local file truncated behind hoist's back: both fetched, nothing else.
    time.sleep(1.1)
    put(srv, "t1/a/b/y", b"new y")
    with open(os.path.join(dst, "d e+f"), "wb") as f:
        f.write(b"short")
    os.utime(os.path.join(dst, "a-b"), (1000000000, 1000000000))
    s2 = ops(srv)
    p, per, summ = run(srv, "oss://bkt/t1/", dst, "--skip-existing")
    d2 = delta(s2, ops(srv))
    got, _ = tree_of(dst)
    t.eq(sorted(x["file"] for x in per if x["action"] == "received"), ["a-b", "a/b/y", "d e+f"],
         "--skip-existing: only the replaced object, the resized and the older local file are fetched")
    t.ok(got["a/b/y"] == b"new y" and got["d e+f"] == files["d e+f"], "... and their bytes are the store's")
    t.eq(d2.get("getobject"), 3, "... three GETs")

    # ---- filters on the relative key
    fdst = os.path.join(d, "filtered")
    p, per, summ = run(srv, "oss://bkt/t1", fdst, "--exclude", "*", "--include", "a/*")
    got, _ = tree_of(fdst)
    t.eq(sorted(got), ["a/b/deep/x.txt", "a/b/y", "a/empty"], "--exclude '*' --include 'a/*': only a/ (prefix without '/')")
    t.ok(summ and summ["excluded"] == len(files) + 1 - 3, "excluded counted", summ)

    # ---- a malicious bucket
    evil = ["m/../evil", "m//abs", "m/a/../../b", "m/./x", "m/x//y", "m/..", "m/ok/../../../etc"]
    for k in evil:
        put(srv, k, b"EVIL")
    put(srv, "m/good/file", b"good")
    box = os.path.join(d, "box")
    inner = os.path.join(box, "in")
    os.makedirs(inner)
    p, per, summ = run(srv, "oss://bkt/m/", inner)
    got, dirs = tree_of(box)
    t.eq(sorted(got), ["in/good/file"], "malicious keys: only the good key is written; nothing else in or beside DIR")
    t.ok(not os.path.exists(os.path.join(d, "evil")) and not os.path.exists("/abs") and not os.path.exists(os.path.join(d, "b")),
         "nothing created outside DIR")
    t.eq(p.returncode, 7, "malicious keys: exit 7")
    t.ok(summ and summ["refused"] == len(evil) and summ["received"] == 1, "each refusal counted", summ)
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("hoist: key ") and "refused" in ln]
    t.eq(len(lines), len(evil), "one stderr line per refused key")
    t.ok(all(any(("'" + k + "'") in ln or (k + ":") in ln for ln in lines) for k in evil),
         "each refusal line names its key", lines)
    t.eq(sorted(x["file"] for x in per if x["action"] == "refused"), sorted(evil), "--json: a 'refused' line per key")

    # The same at the bucket's root: the keys exactly as an attacker would
    # write them, the whole bucket downloaded.
    roots = ["../evil", "/abs", "a/../../b", "./x"]
    for k in roots:
        put(srv, k, b"EVIL", bucket="evil")
    put(srv, "a/fine", b"fine", bucket="evil")
    box2 = os.path.join(d, "box2")
    inner2 = os.path.join(box2, "in")
    os.makedirs(inner2)
    before = sorted(os.listdir(d))
    p, per, summ = run(srv, "oss://evil", inner2)
    got, _ = tree_of(box2)
    t.ok(p.returncode == 7 and sorted(got) == ["in/a/fine"] and sorted(os.listdir(d)) == before and
         not os.path.exists("/abs"),
         "bucket root with '../evil', '/abs', 'a/../../b', './x': only a/fine written, nothing outside, exit 7",
         p.stderr)
    t.eq(sorted(x["file"] for x in per if x["action"] == "refused"), sorted(roots),
         "bucket root: each of the four refused and reported")

    # A symlink planted in DIR is not followed.
    trap = os.path.join(d, "trap")
    outside = os.path.join(d, "outside")
    os.makedirs(trap)
    os.makedirs(outside)
    os.symlink(outside, os.path.join(trap, "good"))
    p, per, summ = run(srv, "oss://bkt/m/", trap, "--exclude", "*", "--include", "good/*")
    t.ok(p.returncode == 7 and os.listdir(outside) == [] and "symlink" in p.stderr,
         "a directory of DIR that is a symlink is not followed: that file fails, exit 7", p.stderr)

    # ---- bad destination
    p = hoist("cp", "-r", "oss://bkt/t1/", os.path.join(dst, "empty"), "--endpoint", srv.url)
    t.ok(p.returncode == 3 and "not a directory" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
         "DIR that is a file: one line, exit 3", p.stderr)

    # ---- a local write that fails (ulimit -f: EFBIG) on the loop's direct
    # writes of small files: those files fail by name with the errno, the
    # others land whole, nothing partial or temporary is left, exit 7.
    lim = {"lim/s%d" % i: os.urandom(n) for i, n in enumerate((100 << 10, 300 << 10, 700 << 10, MiB))}
    for k, v in lim.items():
        put(srv, k, v)
    ldst = os.path.join(d, "limdst")
    os.mkdir(ldst)
    cmd = "ulimit -f 1024; exec %s cp -r oss://bkt/lim/ %s --endpoint %s --json" % (HOIST, ldst, srv.url)
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk"))
    got, _ = tree_of(ldst)
    per = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    failed = sorted(x["file"] for x in per if x.get("action") == "failed")
    t.ok(p.returncode == 7 and failed == ["s2", "s3"] and "File too large" in p.stderr,
         "ulimit -f 1024 (512 KiB) on a tree: the two larger files fail naming the errno, exit 7",
         p.stdout[-600:] + p.stderr[-600:])
    t.eq(sorted(got), ["s0", "s1"], "... nothing partial or temporary is left")
    t.ok(got.get("s0") == lim["lim/s0"] and got.get("s1") == lim["lim/s1"], "... the others are byte-exact")

    # ---- many files: two listing pages, bounded in flight, one syncfs
    many = os.path.join(d, "many")
    mfiles = {"d%02d/f%05d" % (i % 7, i): (b"%d," % i) * (i % 50) for i in range(1205)}
    for rel, data in mfiles.items():
        write(os.path.join(many, rel), data)
    p = hoist("cp", "-r", many, "oss://bkt/many/", "--endpoint", srv.url, "--quiet")
    t.ok(p.returncode == 0, "1,205 files uploaded", p.stderr[-400:])
    mdst = os.path.join(d, "manydst")
    trace = os.path.join(d, "strace.out")
    cmd = [HOIST, "cp", "-r", "oss://bkt/many/", mdst, "--endpoint", srv.url, "--files", "64", "--json"]
    if shutil.which("strace"):
        cmd = ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs", "-o", trace] + cmd
    # LeakSanitizer cannot run under ptrace: no leak check for this one run.
    asan = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk",
                                ASAN_OPTIONS=asan))
    got, _ = tree_of(mdst)
    summ = json.loads(p.stdout.splitlines()[-1]) if p.stdout else {}
    t.ok(p.returncode == 0 and got == mfiles and summ.get("received") == 1205,
         "1,205 files (two listing pages, --files 64): exit 0, every file byte-equal", p.stderr[-600:])
    if shutil.which("strace"):
        with open(trace) as f:
            calls = [ln.split(None, 1)[1].split("(")[0] for ln in f if "(" in ln]
        t.eq({c: calls.count(c) for c in set(calls)}, {"syncfs": 1},
             "durability: no fsync or fdatasync per file, one syncfs for the tree")
    else:
        t.ok(True, "durability by syncfs # SKIP strace missing")

    # ---- S3 dialect
    env = dict(NOENV, AWS_ACCESS_KEY_ID="ak", AWS_SECRET_ACCESS_KEY="sk")
    sdst = os.path.join(d, "s3dst")
    p, per, summ = run(srv, "s3://bkt/t1/", sdst, "--exclude", "a/b/y", env=env)
    got, _ = tree_of(sdst)
    want = {r: b for r, b in files.items() if r not in ("a/b/y",)}
    want["d e+f"] = files["d e+f"]
    t.ok(p.returncode == 0 and got == want, "s3:// cp -r download: exit 0, byte-equal tree",
         p.stdout[-600:] + p.stderr)
    s3 = ops(srv)
    p, per, summ = run(srv, "s3://bkt/t1/", sdst, "--exclude", "a/b/y", "--skip-existing", env=env)
    t.ok(p.returncode == 0 and summ and summ["received"] == 0 and delta(s3, ops(srv)) == {"listobjects": 1},
         "s3:// --skip-existing rerun: no GET", summ)


# ---- faults: byte-exact or reported, never a silent loss
with TempDir() as d, Ossemu(args=["--seed", "7", "--fault", "getobject:corrupt=0.3",
                                  "--fault", "headobject:fail=0.1"]) as srv:
    src = os.path.join(d, "src")
    ffiles = {"f/%03d" % i: os.urandom(100 + i * 37) for i in range(120)}
    for rel, data in ffiles.items():
        write(os.path.join(src, rel), data)
    p = hoist("cp", "-r", src, "oss://bkt/f/", "--endpoint", srv.url, "--quiet")
    t.ok(p.returncode == 0, "faults: the tree is uploaded (GET faults only)", p.stderr[-400:])
    dst = os.path.join(d, "dst")
    got_total, runs, exact, reported, fetched_only_missing = set(), 0, True, True, True
    for runs in range(1, 9):
        p, per, summ = run(srv, "oss://bkt/f/", dst, "--skip-existing", "--retries", "1")
        got, _ = tree_of(dst)
        exact &= all(ffiles.get(r) == b for r, b in got.items())
        failed = {x["file"] for x in per if x["action"] == "failed"}
        received = {x["file"] for x in per if x["action"] == "received"}
        fetched_only_missing &= not (received & got_total)
        reported &= failed == set(ffiles) - set(got) and all(
            any(ln.startswith("hoist: " + f + ": ") for ln in p.stderr.splitlines()) for f in failed)
        reported &= (p.returncode == 7) == bool(failed) and (p.returncode == 0) == (not failed)
        got_total |= received
        if p.returncode == 0:
            break
    t.ok(exact, "faults: every file written is byte-exact (no temporaries, no corrupt bytes)")
    t.ok(reported, "faults: each file not written is reported on its own line (exit 7 until complete)")
    t.ok(fetched_only_missing, "faults: a rerun with --skip-existing fetches only what is missing")
    t.ok(p.returncode == 0 and got == ffiles and runs > 1,
         "faults: reruns complete the set (%d runs)" % runs, p.stderr[-400:])


# ---- a key with a NUL byte (%00 in a url-encoded listing)
# S3 allows any UTF-8 in a key, so a real bucket may list "a%00b"; ossemu
# (libmicrohttpd gives it the path as a C string) and RGW (400 at PUT)
# cannot store one.  So a proxy in front of a real ossemu turns the %01 of
# its url-encoded listings into %00: the listing names "nul/a\0b" while
# every other request is ossemu's own.  Cut at the NUL, that key would be
# "nul/a", another object: a download would write it, rm would delete it.
class NulProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True


def nul_proxy(upstream):
    host, port = upstream.split("//", 1)[1].rstrip("/").split(":")

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def relay(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            c = http.client.HTTPConnection(host, int(port), timeout=30)
            c.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
            r = c.getresponse()
            data = r.read()
            if self.command == "GET" and "encoding-type=url" in self.path and b"<ListBucketResult" in data:
                data = data.replace(b"%01", b"%00")
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            # A HEAD's Content-Length is the object's size: kept.
            self.send_header("Content-Length", r.getheader("Content-Length", "0")
                             if self.command == "HEAD" else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            c.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

    srv = NulProxy(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


with TempDir() as d, Ossemu() as srv:
    for k, body in (("nul/a", b"A"), ("nul/a\x01b", b"NUL"), ("nul/good", b"good")):
        put(srv, k, body)
    px = nul_proxy(srv.url)
    purl = "http://127.0.0.1:%d" % px.server_address[1]
    env = dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk")

    def via(*args):
        return subprocess.run([HOIST, *args, "--endpoint", purl], capture_output=True, text=True,
                              timeout=120, env=env)

    p = via("ls", "-r", "--json", "oss://bkt/nul/")
    ls = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
    t.ok(p.returncode == 0 and [(x["key"], x["size"], x.get("key_encoding")) for x in ls] ==
         [("nul/a", 1, None), ("nul/a%00b", 3, "url"), ("nul/good", 4, None)],
         "NUL key: ls -r --json shows it exactly, url-encoded and flagged, in byte order, not cut into 'nul/a'",
         p.stdout + p.stderr)
    p = via("ls", "-r", "oss://bkt/nul/")
    lines = p.stdout.splitlines()
    t.ok(p.returncode == 0 and len(lines) == 3 and lines[1].endswith("nul/a%00b  (url-encoded: the key holds a NUL byte)"),
         "NUL key: ls -r marks the line as url-encoded", p.stdout + p.stderr)

    dst = os.path.join(d, "dst")
    p = subprocess.run([HOIST, "cp", "-r", "oss://bkt/nul/", dst, "--json", "--endpoint", purl],
                       capture_output=True, text=True, timeout=120, env=env)
    got, _ = tree_of(dst)
    out = [json.loads(ln) for ln in p.stdout.splitlines() if ln.strip()]
    summ = out[-1] if out else {}
    refused = [x for x in out if x.get("action") == "refused"]
    t.ok(p.returncode == 7 and got == {"a": b"A", "good": b"good"},
         "NUL key: cp -r writes the other keys with their own bytes ('a' is nul/a's, not the NUL key's), exit 7",
         f"exit {p.returncode} {got} {p.stderr}")
    t.ok(summ.get("refused") == 1 and [x["key"] for x in refused] == ["nul/a%00b"] and
         "NUL" in refused[0].get("reason", ""), "NUL key: refused by name and counted (--json)", out)
    t.ok(any(ln.startswith("hoist: key nul/a%00b") and "NUL" in ln for ln in p.stderr.splitlines()),
         "NUL key: one stderr line naming it", p.stderr)

    # --skip-existing on upload: a file literally named "a%00b", of the
    # NUL key's size and older than it, is another key: it is sent.
    up = os.path.join(d, "up")
    write(os.path.join(up, "a%00b"), b"LIT")
    os.utime(os.path.join(up, "a%00b"), (946684800, 946684800))
    p = via("cp", "-r", up, "oss://bkt/nul/", "--skip-existing", "--json")
    summ = json.loads(p.stdout.splitlines()[-1]) if p.stdout else {}
    t.ok(p.returncode == 0 and summ.get("sent") == 1 and
         Client(srv.url, scheme="v1").request("GET", "bkt", "nul/a%00b").body == b"LIT",
         "NUL key: cp -r up --skip-existing does not take it for a file named 'a%00b' (sent)", p.stdout + p.stderr)

    p = via("rm", "-r", "--force", "oss://bkt/nul/")
    c = Client(srv.url, scheme="v1")
    t.ok(p.returncode == 7 and "nul/a%00b" in p.stderr and c.request("HEAD", "bkt", "nul/a").status == 404 and
         c.request("HEAD", "bkt", "nul/good").status == 404 and c.request("HEAD", "bkt", "nul/a\x01b").status == 200,
         "NUL key: rm -r deletes the others, names it as not deleted (exit 7); no other key deleted in its place",
         f"exit {p.returncode} {p.stderr}")
    px.shutdown()

# A listing gone stale: objects replaced after the listing was made but
# before their GETs (ossemu --latency delays each answer after the request
# was served: the listing is made at once and received 0.7 s later, and
# the PUTs sent meanwhile land before any GET).  Without a HEAD the GET is
# pinned with If-Match on the listed ETag: a replaced object (same size,
# or another) is refused as changed, never written, the others land.
with TempDir() as d, Ossemu(args=["--latency", "700"]) as srv:
    put(srv, "s/keep", b"k" * 100)
    put(srv, "s/swap", b"o" * 100)
    put(srv, "s/grow", b"g" * 100)
    dst = os.path.join(d, "dst")
    e = dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk")
    pr = subprocess.Popen([HOIST, "cp", "-r", "oss://bkt/s/", dst, "--endpoint", srv.url, "--json"],
                          env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.25)
    swaps = [threading.Thread(target=put, args=(srv, k, v))
             for k, v in (("s/swap", b"n" * 100), ("s/grow", b"g" * 200))]
    for th in swaps:
        th.start()
    for th in swaps:
        th.join()
    out, err = pr.communicate(timeout=120)
    per = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    failed = {x["file"]: x for x in per if x.get("action") == "failed"}
    got, _ = tree_of(dst)
    t.ok(pr.returncode == 7, "stale listing: exit 7", err[-600:])
    t.ok(sorted(failed) == ["grow", "swap"], "stale listing: both replaced objects failed", out[-800:])
    t.ok(all(x["status"] == "E_SOURCE_CHANGED" and "since it was listed" in x["message"]
             for x in failed.values()), "stale listing: the object-changed reason", list(failed.values()))
    t.eq(got, {"keep": b"k" * 100}, "stale listing: nothing written of the replaced objects, the other landed")
    st = srv.stats()["requests"]
    t.ok(st.get("getobject", {}).get("412") == 2 and not st.get("headobject"),
         "stale listing: two GETs refused with 412 by If-Match, no HEAD", st)

# Corrupt GET bodies without a HEAD: the CRC64 the GET's own header gives
# still catches every one (nothing written, each reported as a checksum
# failure).
with TempDir() as d, Ossemu(args=["--fault", "getobject:corrupt=1"]) as srv:
    cfiles = {"c/%02d" % i: os.urandom(1000 + i * 301) for i in range(10)}
    for rel, data in cfiles.items():
        put(srv, rel, data)
    dst = os.path.join(d, "dst")
    s0 = ops(srv)
    p, per, summ = run(srv, "oss://bkt/c/", dst, "--retries", "1")
    d0 = delta(s0, ops(srv))
    got, _ = tree_of(dst)
    t.ok(p.returncode == 7 and got == {} and summ and summ["failed"] == len(cfiles),
         "corrupt GETs without HEAD: exit 7, nothing written", p.stderr[-600:])
    t.ok(all(x["status"] == "E_CHECKSUM" for x in per if x["action"] == "failed"),
         "corrupt GETs without HEAD: each a checksum failure", per[:2])
    t.ok(not d0.get("headobject") and d0.get("getobject") == len(cfiles),
         "corrupt GETs without HEAD: one GET each, no HEAD, no re-fetch (%r)" % d0)

# The pacer (hoist_pacer_*): on a long path (every answer 40 ms late) the
# tree widens from 8 slots toward --jobs, and --jobs stays the ceiling;
# the files land whole either way.
with TempDir() as d, Ossemu(args=["--latency", "40"]) as srv:
    src = os.path.join(d, "src")
    wfiles = {"w%d/%03d" % (i % 3, i): os.urandom(3000 + i) for i in range(150)}
    for rel, data in wfiles.items():
        write(os.path.join(src, rel), data)
    up = hoist("cp", "-r", src, "oss://bkt/w/", "--endpoint", srv.url, "--quiet", timeout=120)
    t.ok(up.returncode == 0, "pacer: the tree uploaded", up.stderr[-400:])
    for jobs, want in (("64", lambda n: n >= 32), ("4", lambda n: 1 <= n <= 4)):
        dst = os.path.join(d, "dst" + jobs)
        p, per, summ = run(srv, "oss://bkt/w/", dst, "--jobs", jobs, "--verbose")
        m = re.search(r"slots in flight at the end: (\d+) of --jobs (\d+)", p.stderr)
        got, _ = tree_of(dst)
        t.ok(p.returncode == 0 and got == wfiles, "pacer: --jobs %s at 40 ms: every file whole" % jobs,
             p.stderr[-400:])
        t.ok(m and m.group(2) == jobs and want(int(m.group(1))),
             "pacer: --jobs %s at 40 ms: %s slots at the end" % (jobs, m.group(1) if m else "?"),
             m.group(0) if m else p.stderr[-400:])

t.done()
