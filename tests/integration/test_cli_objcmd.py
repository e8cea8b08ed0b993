#!/usr/bin/env python3
"""test_cli_objcmd - hoist ls, hoist stat, hoist rm (issue 16) against ossemu.

Real HTTP to build/ossemu, both dialects.  Objects are put behind hoist's
back (tests/lib/osssign.py, signed requests) and read back the same way,
so every expectation comes from an independent client:

- ls -r --json of odd names (spaces, '+', '%41', UTF-8, 'a-b' beside
  'a/b') equals what was uploaded, in byte order of the UTF-8, sizes and
  ETags equal; one level (no -r) equals the rollup Python computes, and
  boto3's list_objects_v2 with Delimiter='/' (keys and CommonPrefixes);
- > 1,000 keys: 2,500 keys listed over 3 ListObjectsV2 pages (server
  stats), 1,200 common prefixes one level over 2 pages;
- stat: size, ETag, content type, last-modified, storage class equal to a
  HEAD's headers, CRC64 equal to crcmod's of the bytes put; a missing key
  exits 3 with one line; S3: no CRC64 (null);
- rm of one key (the others stay), of a missing key (exit 0); rm -r of
  2,500 keys in 3 DeleteMultipleObjects, of the odd names (XML-escaped), (server stats), from a
  non-terminal without --force, the sibling prefix 'many-x/' untouched;
  on a terminal (a pty) it asks: 'n' deletes nothing, --force does not ask;
  a wrong secret: exit 3 naming SignatureDoesNotMatch, nothing deleted;
- the S3 dialect: ls checked with boto3, rm -r of 1,200 keys (2 batches);
- a store failing 30 % of listings and deletes: retried, all keys gone.
"""
import json
import os
import pty
import select
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
from osssign import Client, xml_doc  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rgw"))
try:
    import s3cases as S  # noqa: E402 (boto3)
except ImportError:  # boto3 missing: those checks are skipped, said so
    S = None

t = Tap()
S3ENV = {"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk", "AWS_PROFILE": "",
         "AWS_REGION": "us-east-1"}
ODD = ["odd/a b", "odd/plus+x", "odd/%41", "odd/\u00fc/\u00e9t\u00e9", "odd/\u65e5\u672c/\u8a9e",
       "odd/a-b", "odd/a/b", "odd/a/c/d", "odd/a/", "odd/z", "odd/sp ace/x y",
       "odd/x&y<z>'\"", "odd/tab\there"]


def bsort(keys):
    return sorted(keys, key=lambda k: k.encode())


def put_all(c, items):
    for k, body in items:
        r = c.request("PUT", "bkt", k, body=body)
        assert r.status == 200, (k, r)


def jlines(out):
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


def rollup(keys, prefix):
    """One level under prefix, as a '/' delimiter lists it: keys and
    common prefixes, in byte order."""
    items = set()
    for k in keys:
        rest = k[len(prefix):]
        i = rest.find("/")
        items.add(("P", prefix + rest[:i + 1]) if i >= 0 else ("K", k))
    return sorted(items, key=lambda x: x[1].encode())


def items_of(lines):
    return [("P", x["prefix"]) if "prefix" in x else ("K", x["key"]) for x in lines]


def server_keys(c, prefix):
    keys, token = [], None
    while True:
        q = {"list-type": "2", "prefix": prefix, "max-keys": "1000", "encoding-type": "url"}
        if token:
            q["continuation-token"] = token
        r = c.request("GET", "bkt", None, query=q)
        assert r.status == 200, r.body
        doc = xml_doc(r.body)
        keys += [urllib.parse.unquote(x.findtext("Key")) for x in doc.findall("Contents")]
        if doc.findtext("IsTruncated") != "true":
            return keys
        token = urllib.parse.unquote(doc.findtext("NextContinuationToken"))


def stat_count(srv, op):
    return srv.stats()["requests"].get(op, {}).get("200", 0)


def on_pty(args, answer, timeout=60):
    """Runs hoist with stdin, stdout and stderr on a pseudo-terminal; writes
    answer once it asks (or at once when answer is None and it does not).
    Returns (exit code, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk")
        os.execve(HOIST, [HOIST, *args], env)
    out, sent, end = b"", False, time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if answer is not None and not sent and b"[y/N]" in out:
            os.write(fd, answer.encode())
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def check_ls(srv, c, ep, bodies):
    keys = bsort(bodies)
    p = hoist("ls", "-r", "--json", "oss://bkt/odd/", *ep)
    got = jlines(p.stdout) if p.returncode == 0 else []
    t.eq([x["key"] for x in got], keys, "ls -r --json: the odd names, as put, in byte order")
    t.ok(all(x["size"] == len(bodies[x["key"]]) for x in got), "ls -r: sizes equal the bytes put")
    heads = {k: c.request("HEAD", "bkt", k).header("etag") for k in keys}
    t.ok(all(x["etag"] == heads[x["key"]] for x in got), "ls -r: ETags equal HEAD's")
    t.ok(all(x["storage_class"] == "Standard" and x["last_modified"].endswith("Z") for x in got),
         "ls -r: storage class and last_modified of the listing", str(got[:1]))

    p = hoist("ls", "--json", "oss://bkt/odd/", *ep)
    t.eq(items_of(jlines(p.stdout)), rollup(keys, "odd/"),
         "ls (one level): keys and common prefixes as a '/' delimiter rolls them up")
    p = hoist("ls", "oss://bkt/odd/a", *ep)
    lines = p.stdout.splitlines()
    t.ok(p.returncode == 0 and any(ln.split()[-2:] == ["PRE", "odd/a/"] for ln in lines) and
         any(ln.endswith("  odd/a-b") and ln.split()[1] == str(len(bodies["odd/a-b"]))
             for ln in lines) and len(lines) == 3 and lines[0].endswith("  odd/a b"),
         "ls human form: a PRE line and a 'mtime size key' line", p.stdout + p.stderr)
    p = hoist("ls", "oss://bkt/nothing-here/", *ep)
    t.ok(p.returncode == 0 and p.stdout == "", "ls of an empty prefix: nothing, exit 0")
    p = hoist("ls", "oss://nobkt/", *ep)
    t.ok(p.returncode == 3 and "NoSuchBucket" in p.stderr and len(p.stderr.splitlines()) == 1,
         "ls of a missing bucket: exit 3, one line naming NoSuchBucket", p.stderr)


def check_boto3(srv, keys, prefix):
    if S is None:
        t.ok(True, "# SKIP boto3 not importable")
        return
    s3 = S.client(srv.url, "ak", "sk")
    want, tok = [], None
    while True:
        kw = {"Bucket": "bkt", "Prefix": prefix, "Delimiter": "/"}
        if tok:
            kw["ContinuationToken"] = tok
        r = s3.list_objects_v2(**kw)
        want += [("K", o["Key"]) for o in r.get("Contents", [])]
        want += [("P", o["Prefix"]) for o in r.get("CommonPrefixes", [])]
        if not r.get("IsTruncated"):
            break
        tok = r["NextContinuationToken"]
    want.sort(key=lambda x: x[1].encode())
    p = hoist("ls", "--json", "s3://bkt/" + prefix, "--endpoint", srv.url, env=S3ENV)
    t.eq(items_of(jlines(p.stdout)), want, "s3:// ls of %r equals boto3's list_objects_v2 "
         "(Delimiter '/')" % prefix)
    full = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt", Prefix=prefix):
        full += [(o["Key"], o["Size"], o["ETag"]) for o in page.get("Contents", [])]
    p = hoist("ls", "-r", "--json", "s3://bkt/" + prefix, "--endpoint", srv.url, env=S3ENV)
    t.eq([(x["key"], x["size"], x["etag"]) for x in jlines(p.stdout)], full,
         "s3:// ls -r of %r equals boto3's paginated listing (key, size, ETag)" % prefix)


def check_stat(srv, c, ep, bodies):
    k = "odd/\u65e5\u672c/\u8a9e"
    h = c.request("HEAD", "bkt", k)
    p = hoist("stat", "--json", "oss://bkt/" + k, *ep)
    j = json.loads(p.stdout) if p.returncode == 0 else {}
    t.ok(j.get("size") == len(bodies[k]) and j.get("etag") == h.header("etag") and
         j.get("content_type") == h.header("content-type") and
         j.get("last_modified") == h.header("last-modified") and
         j.get("storage_class") == h.header("x-oss-storage-class") and
         j.get("key") == k, "stat --json: size, ETag, type, mtime, class equal HEAD's", p.stdout)
    t.eq(j.get("crc64"), crc64(bodies[k]), "stat: CRC64 equals crcmod's of the bytes put")
    p = hoist("stat", "oss://bkt/" + k, *ep)
    f = dict(ln.split(None, 1) for ln in p.stdout.splitlines())
    t.ok(f.get("size") == str(len(bodies[k])) and f.get("crc64") == str(crc64(bodies[k])) and
         f.get("etag") == h.header("etag"), "stat human form: size, crc64, etag lines", p.stdout)
    p = hoist("stat", "oss://bkt/odd/missing", *ep)
    t.ok(p.returncode == 3 and len(p.stderr.splitlines()) == 1 and
         ("NoSuchKey" in p.stderr or "not found" in p.stderr),
         "stat of a missing key: exit 3, one line saying so", p.stderr)
    p = hoist("stat", "oss://bkt/", *ep)
    t.ok(p.returncode == 2 and "names no object key" in p.stderr, "stat without a key: usage, exit 2",
         p.stderr)
    p = hoist("stat", "--json", "s3://bkt/" + k, "--endpoint", srv.url, env=S3ENV)
    j = json.loads(p.stdout) if p.returncode == 0 else {}
    t.ok(j.get("size") == len(bodies[k]) and j.get("etag") == h.header("etag"),
         "s3:// stat: size and ETag", p.stdout + p.stderr)


def check_rm(srv, c, ep, bodies):
    p = hoist("rm", "oss://bkt/odd/plus+x", *ep)
    t.ok(p.returncode == 0 and c.request("HEAD", "bkt", "odd/plus+x").status == 404 and
         c.request("HEAD", "bkt", "odd/%41").status == 200,
         "rm of one key: gone, its neighbours stay", p.stdout + p.stderr)
    p = hoist("rm", "oss://bkt/odd/never-was", *ep)
    t.ok(p.returncode == 0, "rm of a missing key: not an error (exit 0)", p.stderr)
    p = hoist("rm", "oss://bkt/", *ep)
    t.ok(p.returncode == 2 and "rm -r" in p.stderr, "rm without a key or -r: usage, exit 2", p.stderr)
    p = hoist("ls", "--force", "oss://bkt/", *ep)
    t.ok(p.returncode == 2 and "--force" in p.stderr, "ls --force: not an option of ls", p.stderr)

    many = ["many/k%04d" % i for i in range(2500)]
    put_all(c, [(k, b"m") for k in many] + [("many-x/keep", b"keep")])
    l0 = stat_count(srv, "listobjects")
    p = hoist("ls", "-r", "--json", "oss://bkt/many/", *ep)
    t.eq([x["key"] for x in jlines(p.stdout)], many, "ls -r of 2,500 keys: all, in order")
    t.eq(stat_count(srv, "listobjects") - l0, 3, "ls -r of 2,500 keys: 3 ListObjectsV2 pages")

    # On a terminal: it asks; 'n' deletes nothing.
    rc, out = on_pty(["rm", "-r", "oss://bkt/many/", *ep], "n\n")
    t.ok(rc == 0 and "[y/N]" in out and "nothing deleted" in out and
         len(server_keys(c, "many/")) == 2500, "rm -r on a terminal asks; 'n' deletes nothing", out)

    d0, l0 = stat_count(srv, "deletemultiple"), stat_count(srv, "listobjects")
    p = subprocess.run([HOIST, "rm", "-r", "--json", "oss://bkt/many/", *ep], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk"))
    j = jlines(p.stdout)
    t.ok(p.returncode == 0 and j and j[-1]["deleted"] == 2500 and j[-1]["failed"] == 0 and
         "[y/N]" not in p.stderr, "rm -r from a non-terminal, no --force: no prompt, 2,500 deleted",
         p.stdout + p.stderr)
    t.eq(stat_count(srv, "deletemultiple") - d0, 3, "rm -r of 2,500 keys: 3 DeleteMultipleObjects")
    t.eq(server_keys(c, "many/"), [], "rm -r: nothing left under the prefix")
    t.eq(server_keys(c, "many-x/"), ["many-x/keep"], "rm -r many/: the sibling many-x/ untouched")

    # A wrong secret: the first request fails as a whole, nothing goes.
    put_all(c, [("wrong/a", b"a"), ("wrong/b", b"b")])
    p = hoist("rm", "-r", "--force", "oss://bkt/wrong/", *ep, env={"OSS_ACCESS_KEY_SECRET": "bad"})
    t.ok(p.returncode == 3 and "SignatureDoesNotMatch" in p.stderr and
         len(server_keys(c, "wrong/")) == 2, "rm -r with a wrong secret: exit 3, names "
         "SignatureDoesNotMatch, nothing deleted", p.stderr)
    rc, out = on_pty(["rm", "-r", "--force", "oss://bkt/wrong/", *ep], None)
    t.ok(rc == 0 and "[y/N]" not in out and server_keys(c, "wrong/") == [],
         "rm -r --force on a terminal: no prompt, deleted", out)


def check_s3(srv, c):
    deep = ["deep/d%04d/x" % i for i in range(1200)] + ["deep/top"]
    put_all(c, [(k, b"d") for k in deep])
    ep = ["--endpoint", srv.url]
    l0 = stat_count(srv, "listobjects")
    p = hoist("ls", "--json", "oss://bkt/deep/", *ep)
    t.eq(items_of(jlines(p.stdout)), rollup(deep, "deep/"),
         "ls one level of 1,200 common prefixes + a key: all, in order")
    t.eq(stat_count(srv, "listobjects") - l0, 2, "... over 2 ListObjectsV2 pages")
    check_boto3(srv, deep, "deep/")
    check_boto3(srv, deep, "")
    d0 = stat_count(srv, "deletemultiple")
    p = hoist("rm", "-r", "s3://bkt/deep/", *ep, env=S3ENV)
    t.ok(p.returncode == 0 and "deleted 1201 objects" in p.stdout, "s3:// rm -r: 1,201 deleted",
         p.stdout + p.stderr)
    t.eq(stat_count(srv, "deletemultiple") - d0, 2, "s3:// rm -r of 1,201 keys: 2 requests")
    t.eq(server_keys(c, "deep/"), [], "s3:// rm -r: nothing left")
    p = hoist("rm", "s3://bkt/odd/z", *ep, env=S3ENV)
    t.ok(p.returncode == 0 and c.request("HEAD", "bkt", "odd/z").status == 404,
         "s3:// rm of one key", p.stderr)
    left = server_keys(c, "odd/")
    p = hoist("rm", "-r", "--force", "oss://bkt/odd/", *ep)
    t.ok(p.returncode == 0 and "deleted %d objects" % len(left) in p.stdout and
         server_keys(c, "odd/") == [] and len(left) > 8,
         "rm -r of the odd names ('&<>\"', a tab, UTF-8, spaces, '+', '%41'): all gone",
         p.stdout + p.stderr)


def check_faults():
    """Listings and deletes through a store failing 30 % of them: the
    retries resend the same body (Content-MD5 still matches), the run
    still ends with every key gone."""
    args = ["--seed", "7", "--fault", "deletemultiple:fail=0.3", "--fault", "listobjects:fail=0.3"]
    with Ossemu(args=args) as srv:
        c = Client(srv.url)
        keys = ["f/k%04d" % i for i in range(2100)]
        put_all(c, [(k, b"f") for k in keys])
        p = hoist("ls", "-r", "--json", "oss://bkt/f/", "--endpoint", srv.url, "--retries", "10")
        t.eq([x["key"] for x in jlines(p.stdout)], keys, "faults: ls -r through failing pages: all keys")
        p = hoist("rm", "-r", "oss://bkt/f/", "--endpoint", srv.url, "--retries", "10")
        st = srv.stats()["requests"].get("deletemultiple", {})
        failed = sum(v for k, v in st.items() if k != "200")
        t.ok(p.returncode == 0 and "deleted 2100 objects" in p.stdout and failed > 0 and
             st.get("200") == 3, "faults: rm -r retried %d failed deletes, 3 succeeded, exit 0"
             % failed, p.stdout + p.stderr + str(st))
        t.eq(srv.stats()["objects"], 0, "faults: the store holds no object after rm -r")


def main():
    with Ossemu() as srv:
        c = Client(srv.url)
        ep = ["--endpoint", srv.url]
        bodies = {k: os.urandom(1 + i * 37) for i, k in enumerate(ODD)}
        put_all(c, bodies.items())
        check_ls(srv, c, ep, bodies)
        check_boto3(srv, list(bodies), "odd/")
        check_stat(srv, c, ep, bodies)
        check_rm(srv, c, ep, bodies)
        check_s3(srv, c)
    check_faults()
    t.done()


main()
