"""test_cli_housekeeping - hoist abort, ls-uploads, ls-parts; Ctrl-C.

A multipart upload is made behind hoist's back (V1-signed requests written
in Python, test_cli_common.oss_request), then listed, inspected and aborted
with hoist, each result checked against what was sent: upload id, key,
part sizes, MD5 ETags and crcmod CRC64s.  Then Ctrl-C: SIGINT in the middle
of a throttled upload exits 130; with --no-resume the upload is aborted
(ls-uploads no longer shows it), without it the upload is kept for resume.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def hk(srv, *args):
    p = hoist(*args, "--endpoint", srv.url)
    try:
        js = json.loads(p.stdout) if "--json" in args else None
    except ValueError:
        js = None
    return p, js


def initiate(srv, key):
    st, _, body = oss_request(srv, "POST", "bkt", key, query="uploads", subresource="uploads")
    m = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
    return st, (m.group(1).decode() if m else None)


with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    key = "hk/with space+plus"
    st, uid = initiate(srv, key)
    t.ok(st == 200 and uid, "raw Initiate (test setup)", st)
    parts = [os.urandom(102400), os.urandom(102400), os.urandom(5000)]
    sent = []
    for n in (1, 2, 4):  # a gap: part 3 is missing
        b = parts[len(sent)]
        q = "partNumber=%d&uploadId=%s" % (n, uid)
        st, hdrs, _ = oss_request(srv, "PUT", "bkt", key, query=q, subresource=q, body=b)
        sent.append((n, b))
        t.eq(st, 200, "raw UploadPart %d (test setup)" % n)
    st, other = initiate(srv, "other/key")
    t.ok(st == 200 and other, "second raw Initiate (test setup)")

    # ls-uploads: both, human and JSON; the prefix filters.
    p, js = hk(srv, "ls-uploads", "oss://bkt", "--json")
    ups = {(u["key"], u["upload_id"]) for u in (js or {}).get("uploads", [])}
    t.ok(p.returncode == 0 and (key, uid) in ups and ("other/key", other) in ups and js["count"] == len(ups),
         "ls-uploads --json lists both uploads with keys decoded", p.stdout + p.stderr)
    p, _ = hk(srv, "ls-uploads", "oss://bkt")
    lines = p.stdout.splitlines()
    t.ok(p.returncode == 0 and any(uid in ln and ln.endswith(key) for ln in lines)
         and any(other in ln for ln in lines), "ls-uploads human listing", p.stdout + p.stderr)
    p, js = hk(srv, "ls-uploads", "oss://bkt/hk/", "--json")
    t.ok(p.returncode == 0 and js and [u["upload_id"] for u in js["uploads"]] == [uid],
         "ls-uploads oss://bkt/PREFIX filters by prefix", p.stdout + p.stderr)

    # ls-parts: numbers, sizes, ETags, CRC64s against what was sent.
    p, js = hk(srv, "ls-parts", "oss://bkt/" + key, "--upload-id", uid, "--json")
    want = [{"part_number": n, "size": len(b), "etag": '"%s"' % hashlib.md5(b).hexdigest().upper(),
             "crc64": crc64(b)} for n, b in sent]
    got = [{k: x[k] for k in ("part_number", "size", "etag", "crc64")} for x in (js or {}).get("parts", [])]
    t.ok(p.returncode == 0 and got == want, "ls-parts --json: numbers, sizes, ETags, CRC64s",
         "got %s\nwant %s\n%s" % (got, want, p.stderr))
    t.ok(js and all(x["last_modified"] for x in js["parts"]), "ls-parts: last modified times")
    p, _ = hk(srv, "ls-parts", "oss://bkt/" + key, "--upload-id", uid)
    lines = p.stdout.splitlines()
    t.ok(p.returncode == 0 and len(lines) == 3 and str(crc64(sent[2][1])) in lines[2]
         and lines[2].split()[0] == "4", "ls-parts human listing", p.stdout + p.stderr)

    # abort, then the upload is gone everywhere.
    p, js = hk(srv, "abort", "oss://bkt/" + key, "--upload-id", uid, "--json")
    t.ok(p.returncode == 0 and js and js["upload_id"] == uid and js["status"] == "OK",
         "abort --json", p.stdout + p.stderr)
    p, js = hk(srv, "ls-uploads", "oss://bkt", "--json")
    t.ok(p.returncode == 0 and [u["upload_id"] for u in js["uploads"]] == [other],
         "after abort ls-uploads lists only the other upload", p.stdout + p.stderr)
    p, _ = hk(srv, "ls-parts", "oss://bkt/" + key, "--upload-id", uid)
    t.ok(p.returncode == 3 and "NoSuchUpload" in p.stderr and len(p.stderr.splitlines()) == 1,
         "ls-parts of an aborted upload: exit 3, NoSuchUpload", p.stderr)
    p, _ = hk(srv, "abort", "oss://bkt/" + key, "--upload-id", uid)
    t.ok(p.returncode == 3 and "NoSuchUpload" in p.stderr, "second abort: exit 3, NoSuchUpload", p.stderr)
    p, _ = hk(srv, "abort", "oss://bkt/other/key", "--upload-id", other)
    t.ok(p.returncode == 0 and other in p.stdout, "abort human output names the upload id", p.stdout + p.stderr)
    p, js = hk(srv, "ls-uploads", "oss://bkt", "--json")
    t.ok(p.returncode == 0 and js and js["count"] == 0, "ls-uploads empty at the end", p.stdout + p.stderr)
    p, _ = hk(srv, "ls-uploads", "oss://nobucket")
    t.ok(p.returncode == 3 and "NoSuchBucket" in p.stderr, "ls-uploads of a missing bucket: exit 3", p.stderr)

# Ctrl-C in the middle of an upload, against a throttled server so there
# is a middle: 250 KB/s per connection, 4 connections, about 5 s in all.
# SIGINT goes in once the first part has been acknowledged.
with TempDir() as d, Ossemu(args=["--anonymous", "--conn-bandwidth", "0.25"]) as srv:
    f = make_file(os.path.join(d, "big"), 48 * 102400, seed=5)
    ck = os.path.join(d, "ckpt")
    for name, extra in (("--no-resume", ["--no-resume"]), ("resumable", ["--checkpoint-dir", ck])):
        key = "int-" + name.strip("-")
        proc = subprocess.Popen([HOIST, "cp", f, "oss://bkt/" + key, "--endpoint", srv.url, "--part-size",
                                 "100K", "--jobs", "4", "--verbose", *extra],
                                env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        t.ok(first.startswith("part "), "Ctrl-C %s: interrupted after a part was done" % name, first)
        t.ok(proc.returncode == 130 and err.strip().splitlines()[-1:] and
             err.strip().splitlines()[-1].startswith("hoist: "),
             "Ctrl-C %s: exit 130 with a last line" % name, "rc=%s stderr=%s" % (proc.returncode, err[-1500:]))
        p, js = hk(srv, "ls-uploads", "oss://bkt/" + key, "--json")
        n = len((js or {}).get("uploads", []))
        if name == "--no-resume":
            t.eq(n, 0, "Ctrl-C --no-resume: the upload was aborted")
        else:
            t.eq(n, 1, "Ctrl-C: the upload is kept for resume")
        t.eq(head_status(srv, "bkt", key), 404, "Ctrl-C %s: no object" % name)
        if name == "resumable":
            # The same command again resumes: parts done before Ctrl-C are
            # kept, the object is byte-exact, the upload is gone after.
            p, js = cp(srv, f, "bkt", key, "--part-size", "100K", "--jobs", "8", *extra)
            check_upload(t, srv, f, "bkt", key, p, js, "resume after Ctrl-C", part_size=102400)
            t.ok(js and 0 < js["resumed_parts"] < js["parts"], "resume kept the parts sent before Ctrl-C",
                 (js or {}).get("resumed_parts"))
            p, js = hk(srv, "ls-uploads", "oss://bkt/" + key, "--json")
            t.ok(p.returncode == 0 and js["count"] == 0, "resume: no upload left behind", p.stdout)
t.done()
