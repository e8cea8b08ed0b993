"""test_cli_tree - hoist cp -r DIR oss://BUCKET/PREFIX/ (issue 16, uploads).

Real HTTP to ossemu.  A tree with nested directories, 'a-b' beside 'a/b',
names with spaces, '+', '%41' and UTF-8, empty files, a multipart file, a
symlink to a file, one to a directory, a FIFO:

- uploaded in one run: every regular file is an object byte-equal to it
  (anonymous GET, sha256) with the server's CRC64 equal to crcmod's, and
  the bucket holds nothing else (an independent ListObjectsV2 signed by
  tests/lib/osssign.py); symlinks and the FIFO skipped and counted;
- the walk is in byte order of keys ("exists" lines of a rerun come in
  Python's sort of the UTF-8 bytes);
- a rerun with --skip-existing sends nothing (server stats: no PutObject,
  no UploadPart); a touched file is sent alone; the mtime rule's blind
  spot (same size, mtime set back) and --checksum-compare closing it;
- --include/--exclude in order; --follow-symlinks with a loop;
- a file that cannot be sent (its key would pass 1,023 bytes) is reported
  on its own line and the others land: exit 7;
- 1,205 files merged with a listing of two pages; a store refusing every
  file stops the run after 8; the S3 dialect.
"""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
from osssign import Client, xml_doc  # noqa: E402

t = Tap()
NOENV = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def regular_files(root):
    """Relative paths of the regular files under root, symlinks not followed."""
    out = []
    for dp, dns, fns in os.walk(root):
        for n in fns:
            p = os.path.join(dp, n)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    return out


def list_keys(srv, prefix, scheme="v1"):
    """Every key under prefix, by an independent signed ListObjectsV2."""
    c = Client(srv.url, scheme=scheme)
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


def server_crc(srv, key):
    c = Client(srv.url)
    r = c.request("HEAD", "bkt", key)
    return int(r.header("x-oss-hash-crc64ecma", "-1")), r.status


def tree_cp(srv, src, url, *args, env=None):
    p = hoist("cp", "-r", src, url, "--endpoint", srv.url, "--json", *args, env=env, timeout=600)
    lines = []
    for ln in p.stdout.splitlines():
        try:
            lines.append(json.loads(ln))
        except ValueError:
            lines.append({"unparsed": ln})
    summ = lines[-1] if lines and lines[-1].get("summary") else None
    return p, [x for x in lines if "file" in x], summ


def ops(srv):
    """Requests answered 2xx by operation."""
    out = {}
    for op, by in srv.stats()["requests"].items():
        if op == "stats":
            continue
        out[op] = sum(n for code, n in by.items() if code.startswith("2"))
    return out


def delta(a, b):
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def check_objects(t, srv, root, prefix, rels, name):
    good = True
    for rel in rels:
        path = os.path.join(root, rel)
        key = prefix + rel
        try:
            digest, n = object_sha256(srv, "bkt", key)
        except Exception as e:  # noqa: BLE001 - a failure to report
            digest, n = repr(e), -1
        same = n == os.path.getsize(path) and digest == file_sha256(path)
        crc, _ = server_crc(srv, key)
        good &= t.ok(same and crc == file_crc64(path), "%s: %r byte-equal, server CRC64 = crcmod's" % (name, rel),
                     "got %d bytes, crc %s" % (n, crc))
    return good


with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    src = os.path.join(d, "src")
    files = {
        "a-b": b"dash",
        "a/b/deep/x.txt": b"deep text",
        "a/b/y": b"y" * 1000,
        "a/1.txt": b"one",
        "a/empty": b"",
        "ab": b"ab",
        "empty": b"",
        "d e+f": b"space and plus",
        "%41": b"percent",
        "z/\u00fc\u00e9/\u65e5\u672c.txt": "utf-8".encode(),
        "plus+/p": b"p",
    }
    for rel, data in files.items():
        write(os.path.join(src, rel), data)
    big = make_file(os.path.join(src, "big.bin"), scaled(3 * MiB + 17, 3 * MiB + 17), seed=3)
    files["big.bin"] = None
    os.symlink("a/1.txt", os.path.join(src, "link-to-file"))
    os.symlink("a", os.path.join(src, "link-to-dir"))
    os.mkfifo(os.path.join(src, "fifo"))
    os.makedirs(os.path.join(src, "emptydir"))
    rels = sorted(files, key=lambda r: r.encode())
    ck = os.path.join(d, "ck")

    # ---- the first upload
    s0 = ops(srv)
    p, per, summ = tree_cp(srv, src, "oss://bkt/t1/", "--part-size", "1M", "--checkpoint-dir", ck)
    t.ok(p.returncode == 0 and summ is not None, "cp -r: exit 0 with a JSON summary",
         "rc=%s\n%s\n%s" % (p.returncode, p.stdout[-1500:], p.stderr[-1500:]))
    sent = sorted(x["file"] for x in per if x["action"] == "sent")
    t.eq(sent, sorted(rels), "cp -r: one 'sent' line per regular file")
    skipped = sorted((x["file"], x.get("reason")) for x in per if x["action"] == "skipped")
    t.eq(skipped, [("fifo", "special file"), ("link-to-dir", "symlink"), ("link-to-file", "symlink")],
         "cp -r: symlinks and the FIFO skipped, each with its reason")
    if summ:
        t.eq((summ["sent"], summ["special"], summ["failed"], summ["bytes"]),
             (len(rels), 3, 0, sum(os.path.getsize(os.path.join(src, r)) for r in rels)),
             "cp -r: summary counts files, skipped and bytes")
    big_line = [x for x in per if x["file"] == "big.bin"]
    t.ok(big_line and big_line[0]["parts"] == 4, "cp -r: the 3 MiB file went multipart (4 parts of 1 MiB)",
         big_line)
    d1 = delta(s0, ops(srv))
    t.eq((d1.get("putobject"), d1.get("uploadpart"), d1.get("complete")), (len(rels) - 1, 4, 1),
         "cp -r: server saw one PutObject per small file and one multipart upload")
    t.eq(list_keys(srv, "t1/"), ["t1/" + r for r in rels],
         "cp -r: the listing holds exactly the tree's keys, in byte order (nothing extra, no empty dir)")
    check_objects(t, srv, src, "t1/", rels, "cp -r")

    # ---- rerun: nothing sent, the walk's order is the listing's
    s1 = ops(srv)
    p, per, summ = tree_cp(srv, src, "oss://bkt/t1", "--skip-existing", "--part-size", "1M")
    d2 = delta(s1, ops(srv))
    t.ok(p.returncode == 0 and summ and summ["sent"] == 0 and summ["existing"] == len(rels),
         "--skip-existing rerun: exit 0, every file 'exists', none sent", p.stdout[-1500:] + p.stderr)
    t.ok(set(d2) == {"listobjects"}, "--skip-existing rerun: the server saw only the listing", d2)
    walk_order = [x["file"] for x in per if x.get("reason") == "exists"]
    t.eq(walk_order, rels, "the walk is in byte order of keys ('a-b' before 'a/...', ' ' before '%')")

    # ---- a touched file is sent alone
    touched = os.path.join(src, "a/b/y")
    write(touched, b"Y" * 1000)
    st = os.stat(touched)
    os.utime(touched, (st.st_atime, st.st_mtime + 5))
    s2 = ops(srv)
    p, per, summ = tree_cp(srv, src, "oss://bkt/t1/", "--skip-existing")
    d3 = delta(s2, ops(srv))
    t.ok(p.returncode == 0 and [x["file"] for x in per if x["action"] == "sent"] == ["a/b/y"],
         "--skip-existing after touching one file: only it is sent", p.stdout[-1500:])
    t.eq(d3.get("putobject"), 1, "--skip-existing after touching one file: one PutObject on the server")
    check_objects(t, srv, src, "t1/", ["a/b/y"], "touched")
    os.utime(touched, (st.st_atime, st.st_mtime - 100))  # older than its object again

    # ---- same size, mtime set back: the mtime rule trusts it, content does not
    sneaky = os.path.join(src, "a/1.txt")
    old = os.stat(sneaky)
    write(sneaky, b"ONE")
    os.utime(sneaky, (old.st_atime, old.st_mtime - 100))
    p, per, summ = tree_cp(srv, src, "oss://bkt/t1/", "--skip-existing")
    t.ok(p.returncode == 0 and summ and summ["sent"] == 0,
         "--skip-existing (size and mtime): a same-size file with an older mtime is trusted, not sent",
         p.stdout[-800:])
    s3 = ops(srv)
    p, per, summ = tree_cp(srv, src, "oss://bkt/t1/", "--skip-existing", "--checksum-compare")
    d4 = delta(s3, ops(srv))
    t.ok(p.returncode == 0 and [x["file"] for x in per if x["action"] == "sent"] == ["a/1.txt"],
         "--checksum-compare: the changed content is found and only it sent", p.stdout[-1500:] + p.stderr)
    t.eq(d4.get("headobject"), len(rels), "--checksum-compare: one HEAD per same-size candidate")
    check_objects(t, srv, src, "t1/", ["a/1.txt"], "checksum-compare")

    # ---- include / exclude, in order, the last match deciding
    p, per, summ = tree_cp(srv, src, "oss://bkt/t2/", "--exclude", "*", "--include", "*.txt",
                           "--exclude", "a/b/*")
    want = sorted(r for r in rels if r.endswith(".txt") and not r.startswith("a/b/"))
    t.eq(list_keys(srv, "t2/"), ["t2/" + r for r in want],
         "--exclude '*' --include '*.txt' --exclude 'a/b/*': exactly the matching files")
    t.ok(summ and summ["excluded"] == len(rels) - len(want), "filters: the excluded files are counted", summ)

    # ---- follow symlinks, with a loop
    os.symlink("..", os.path.join(src, "a", "b", "up"))
    p, per, summ = tree_cp(srv, src, "oss://bkt/t3/", "--follow-symlinks", "--exclude", "big.bin")
    keys = set(list_keys(srv, "t3/"))
    t.ok(p.returncode == 0 and "t3/link-to-file" in keys and "t3/link-to-dir/1.txt" in keys,
         "--follow-symlinks: a linked file and a linked directory are uploaded", sorted(keys)[:40])
    loops = [x for x in per if x.get("reason") == "symlink loop"]
    t.ok(len(loops) >= 1 and all(x["file"].endswith("/up") for x in loops),
         "--follow-symlinks: a link back up the path is a loop, skipped and counted", loops)
    os.unlink(os.path.join(src, "a", "b", "up"))

    # ---- a failing file is reported, the others land
    bad = os.path.join(d, "bad")
    write(os.path.join(bad, "ok1"), b"fine 1")
    write(os.path.join(bad, "ok2"), b"fine 2")
    long_rel = "/".join(["n" * 250] * 5) + "/toolong"
    write(os.path.join(bad, long_rel), b"never sent")
    p, per, summ = tree_cp(srv, bad, "oss://bkt/t4/")
    errs = p.stderr.strip().splitlines()
    t.ok(p.returncode == 7 and summ and summ["failed"] == 1 and summ["sent"] == 2,
         "a file that cannot be sent: exit 7, 1 failed, 2 sent", "rc=%s %s\n%s" % (p.returncode, summ, p.stderr))
    t.ok(any("toolong" in ln and "1023" in ln for ln in errs) and errs and "1 of 3 files failed" in errs[-1],
         "the failure line names the file and the reason; the last line counts the failures", p.stderr)
    t.eq(list_keys(srv, "t4/"), ["t4/ok1", "t4/ok2"], "the others landed")

    # ---- many files: the merge follows the listing over pages
    many = os.path.join(d, "many")
    for i in range(1205):
        write(os.path.join(many, "d%02d" % (i % 7), "f%05d" % i), b"%d" % i)
    p, per, summ = tree_cp(srv, many, "oss://bkt/t5/", "--files", "64")
    t.ok(p.returncode == 0 and summ and summ["sent"] == 1205, "1,205 files: all sent", summ)
    s5 = ops(srv)
    p, per, summ = tree_cp(srv, many, "oss://bkt/t5/", "--skip-existing")
    d5 = delta(s5, ops(srv))
    t.ok(p.returncode == 0 and summ and summ["existing"] == 1205 and summ["sent"] == 0,
         "1,205 files rerun: all found in the listing", summ)
    t.eq(d5, {"listobjects": 2}, "1,205 files rerun: two listing pages and nothing else")
    victim = os.path.join(many, "d03", "f00500")
    write(victim, b"%03d" % 999)   # "500" -> "999": same size, new content
    s6 = ops(srv)
    p, per, summ = tree_cp(srv, many, "oss://bkt/t5/", "--skip-existing", "--checksum-compare")
    d6 = delta(s6, ops(srv))
    t.ok(p.returncode == 0 and summ and summ["existing"] == 1204 and
         [x["file"] for x in per if x["action"] == "sent"] == ["d03/f00500"],
         "1,205 files --checksum-compare (checked in parallel): only the changed one is sent", summ)
    t.eq(d6, {"listobjects": 2, "headobject": 1205, "putobject": 1},
         "1,205 files --checksum-compare: a HEAD per file, one PutObject")

    # ---- S3 dialect
    env = dict(NOENV, AWS_ACCESS_KEY_ID="ak", AWS_SECRET_ACCESS_KEY="sk")
    p, per, summ = tree_cp(srv, src, "s3://bkt/s3/", "--exclude", "big.bin", env=env)
    srels = [r for r in rels if r != "big.bin"]
    t.ok(p.returncode == 0 and summ and summ["sent"] == len(srels), "s3:// cp -r: exit 0, all sent",
         p.stdout[-800:] + p.stderr)
    t.eq(list_keys(srv, "s3/", scheme="s3"), ["s3/" + r for r in srels], "s3:// cp -r: exactly the tree's keys")
    check_objects(t, srv, src, "s3/", srels[:4], "s3://")
    write(os.path.join(src, "ab"), b"AB")   # same size, new content
    os.utime(os.path.join(src, "ab"), (0, 1000))
    p, per, summ = tree_cp(srv, src, "s3://bkt/s3/", "--exclude", "big.bin", "--skip-existing",
                           "--checksum-compare", env=env)
    t.ok(p.returncode == 0 and [x["file"] for x in per if x["action"] == "sent"] == ["ab"],
         "s3:// --checksum-compare: the listed MD5 ETag finds the one changed file", p.stdout[-1500:])

    # ---- a store that refuses every file: the run stops instead of trying them all
    p, per, summ = tree_cp(srv, many, "oss://bkt/t6/", "--files", "16",
                           env={"OSS_ACCESS_KEY_SECRET": "wrong"})
    t.ok(p.returncode == 3 and "stopping: 8 files in a row were refused (SignatureDoesNotMatch)" in p.stderr
         and summ and summ["failed"] <= 8 + 16 and summ["sent"] == 0,
         "every file refused: exit 3 after 8 refusals (plus those in flight), not 1,205 failures",
         "rc=%s %s\n%s" % (p.returncode, summ, p.stderr[-1500:]))

    # ---- usage
    p = hoist("cp", "--skip-existing", src, "oss://bkt/x/", "--endpoint", srv.url)
    t.ok(p.returncode == 2 and "-r" in p.stderr, "tree options without -r: exit 2", p.stderr)
    p = hoist("cp", "-r", os.path.join(src, "ab"), "oss://bkt/x/", "--endpoint", srv.url)
    t.ok(p.returncode == 3 and "not a directory" in p.stderr, "cp -r FILE: exit 3, 'not a directory'", p.stderr)

t.done()
