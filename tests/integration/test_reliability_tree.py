"""test_reliability_tree - faults during a tree upload (issue 16): never a
silent loss, and a rerun with --skip-existing completes the set.

A tree of 300 small files and 3 multipart ones goes to an ossemu that
fails 15 % of requests and resets 3 % (`--fail 0.15 --reset 0.03`, fixed
seed), with `--retries 0` so that some files really fail:

- every file is accounted for: its line says "sent" or "failed" (exit 7
  when any failed), and the summary's sent + failed is the tree;
- every "sent" object is byte-exact (sha256) and its CRC64 the server's;
  no "failed" file has an object (what a failed PutObject must not leave)
  except a multipart one, never completed: it is journaled for resume;
- ossemu restarted on the same --data-dir without faults, the rerun with
  --skip-existing sends exactly the files that failed (the others come back
  "exists"), resumes the kept multipart uploads, and the bucket then holds
  the whole tree, byte-exact, and nothing else.
"""
import json
import os
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
from osssign import Client, xml_doc  # noqa: E402

t = Tap()


def tree_cp(srv, src, *args):
    p = hoist("cp", "-r", src, "oss://bkt/r/", "--endpoint", srv.url, "--json", "--part-size", "256K",
              *args, timeout=600)
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
    summ = lines[-1] if lines and lines[-1].get("summary") else {}
    return p, [x for x in lines if "file" in x], summ


def keys(srv):
    c = Client(srv.url)
    out, token = [], None
    while True:
        q = {"list-type": "2", "prefix": "r/", "encoding-type": "url", "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        r = c.request("GET", "bkt", None, query=q)
        doc = xml_doc(r.body)
        out += [urllib.parse.unquote(x.findtext("Key")) for x in doc.findall("Contents")]
        if doc.findtext("IsTruncated") != "true":
            return out
        token = urllib.parse.unquote(doc.findtext("NextContinuationToken"))


def byte_exact(srv, src, rel):
    try:
        digest, n = object_sha256(srv, "bkt", "r/" + rel)
    except Exception:  # noqa: BLE001 - reported as not exact
        return False
    return digest == file_sha256(os.path.join(src, rel))


with TempDir() as d:
    src = os.path.join(d, "src")
    n_small = scaled(300, 120)
    for i in range(n_small):
        sub = os.path.join(src, "d%d" % (i % 6))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%04d" % i), "wb") as f:
            f.write(os.urandom(100 + i * 7))
    bigs = []
    for i in range(3):
        bigs.append("big%d" % i)
        make_file(os.path.join(src, "big%d" % i), 2 * MiB + 1000 * i, seed=i + 11)
    rels = sorted((os.path.relpath(os.path.join(dp, f), src) for dp, _, fs in os.walk(src) for f in fs),
                  key=lambda r: r.encode())
    data = tempfile.mkdtemp(prefix="ossemu-tree-", dir=d)
    ck = os.path.join(d, "ck")

    with Ossemu(data_dir=data, args=["--anonymous", "--fail", "0.15", "--reset", "0.03", "--seed", "7"]) as srv:
        p, per, summ = tree_cp(srv, src, "--retries", "0", "--checkpoint-dir", ck)
        sent = {x["file"] for x in per if x["action"] == "sent"}
        failed = {x["file"] for x in per if x["action"] == "failed"}
        t.ok(p.returncode == 7 and failed and sent, "faults, --retries 0: exit 7, some files sent, some failed",
             "rc=%s %s\n%s" % (p.returncode, summ, p.stderr[-1500:]))
        t.ok(sent | failed == set(rels) and not (sent & failed) and summ.get("sent", 0) + summ.get("failed", 0)
             == len(rels), "faults: every file is accounted for, once (sent or failed)",
             "missing %s" % sorted(set(rels) - sent - failed)[:10])
        t.ok(len([ln for ln in p.stderr.splitlines() if ln.startswith("hoist: d") or ln.startswith("hoist: big")])
             >= len(failed), "faults: each failure has its own line naming the file", p.stderr[-1500:])
        stats = srv.stats()["faults"]
        t.ok(stats["fail"] > 0 and stats["reset"] > 0, "faults were injected", stats)
        port = srv.port

    # The same data and port (a journal names its endpoint), no faults
    # (GETs and listings were faulted too).
    with Ossemu(data_dir=data, port=port, args=["--anonymous"]) as srv:
        bad = [r for r in sorted(sent) if not byte_exact(srv, src, r)]
        t.ok(not bad, "faults: every object reported sent is byte-exact", bad[:10])
        present = set(k[2:] for k in keys(srv))
        t.eq(sorted(present & failed), [], "faults: no failed file left an object")
        p, per, summ = tree_cp(srv, src, "--skip-existing", "--checkpoint-dir", ck)
        resent = {x["file"] for x in per if x["action"] == "sent"}
        t.ok(p.returncode == 0, "rerun without faults: exit 0", p.stderr[-1500:])
        t.eq(sorted(resent), sorted(failed), "rerun --skip-existing: exactly the failed files are sent")
        t.eq(sorted(x["file"] for x in per if x.get("reason") == "exists"), sorted(sent),
             "rerun --skip-existing: the files sent before come back 'exists'")
        t.eq(keys(srv), ["r/" + r for r in rels], "after the rerun: the bucket holds the tree, nothing else")
        bad = [r for r in rels if not byte_exact(srv, src, r)]
        t.ok(not bad, "after the rerun: every object byte-exact", bad[:10])
        resumed = [x for x in per if x["action"] == "sent" and x["file"] in bigs]
        t.ok(sorted(x["file"] for x in resumed) == sorted(failed & set(bigs)) and all(x["parts"] > 0 for x in resumed),
             "rerun: the multipart files that had failed are completed", (resumed, sorted(failed & set(bigs))))
        lp = sum(srv.stats()["requests"].get("listparts", {}).values())
        t.ok(lp >= 1 if failed & set(bigs) else True,
             "rerun: a failed multipart upload is resumed from its journal (ListParts)", lp)
t.done()
