"""rgwmore - the download, tree and object-command checks against Ceph RGW
(issues 15 and 16), run by tests/integration/test_s3_rgw.py on its one
bring-up.  Everything is checked against boto3 and hashlib, never against
hoist's own view: sha256 of what was put, list_objects_v2 / head_object
for keys, sizes and ETags.

What it owns: downloads of objects put by boto3 and by hoist (a file, a
directory, '-'; the `verified` value against what RGW can offer: a
single-part ETag is an MD5, a multipart "md5-N" is not, RGW 16.2 serves
no ?partNumber= and no CRC64, so --require-verified must refuse what
cannot be verified), an object replaced mid-download (exit 6), cp -r up
and down with --skip-existing reruns, ls / ls -r / ls --json / stat /
rm -r, and RGW's answer to a key with a NUL byte.
Importable once tests/lib and this directory are on sys.path.
"""
import hashlib
import json
import os
import subprocess
import time

import boto3.s3.transfer

import s3cases as S
from hoisttest import HOIST, make_file

MiB = S.MiB
P = S.S3_MIN_PART


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def hoist(args, ak, sk, timeout=180):
    return S.run_hoist(args, ak, sk, timeout)


def conn(ep):
    return ["--endpoint", ep, "--region", "us-east-1"]


def last_json(out):
    for ln in reversed(out.splitlines()):
        try:
            return json.loads(ln)
        except ValueError:
            continue
    return {}


def put_boto3(s3, bucket, key, path, multipart):
    """One PutObject, or a multipart upload of 5 MiB parts ("md5-N")."""
    if multipart:
        cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=P, multipart_chunksize=P,
                                               max_concurrency=4)
        s3.upload_file(path, bucket, key, Config=cfg)
    else:
        with open(path, "rb") as f:
            s3.put_object(Bucket=bucket, Key=key, Body=f)


def expected_verified(etag, size, part):
    """What hoist may honestly say it checked on RGW: no CRC64 and no
    checksum headers there, so only the MD5 of a single-part ETag, and
    only when the object comes in one range (bytes in order).  A
    multipart ETag can be checked by nothing: "none"."""
    if "-" in etag or size > part:
        return {"none"}
    return {"get_md5"}


# ------------------------------------------------------------- downloads

def download_cases(t, s3, ep, bucket, ak, sk, tmp):
    sizes = [("0B", 0), ("1B", 1), ("5MiB-1", P - 1), ("5MiB", P), ("5MiB+1", P + 1),
             ("3x5MiB+7", 3 * P + 7), ("64MiB", 64 * MiB)]
    src = {}
    for i, (label, size) in enumerate(sizes):
        src[label] = make_file(os.path.join(tmp, f"dl-{label}"), size, seed=300 + i)
    objs = []  # (key, label, size, who)
    for label, size in sizes:
        if label != "64MiB":
            put_boto3(s3, bucket, f"dl/boto3-{label}", src[label], multipart=False)
            objs.append((f"dl/boto3-{label}", label, size, "boto3 PutObject"))
        if size > P:
            put_boto3(s3, bucket, f"dl/boto3mp-{label}", src[label], multipart=True)
            objs.append((f"dl/boto3mp-{label}", label, size, "boto3 multipart"))
        rc, out, err, _ = hoist(["cp", src[label], f"s3://{bucket}/dl/hoist-{label}", "--part-size", "5M",
                                 *conn(ep)], ak, sk)
        t.ok(rc == 0, f"setup: hoist put {label}", err[-600:])
        objs.append((f"dl/hoist-{label}", label, size, "hoist"))
    out_dir = os.path.join(tmp, "dl-out")
    os.makedirs(out_dir)
    for key, label, size, who in objs:
        want = S.sha256_file(src[label])
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
        name = f"download {label} put by {who} (ETag {'md5-N' if '-' in etag else 'MD5'})"
        dst = os.path.join(out_dir, key.replace("/", "_"))
        rc, out, err, secs = hoist(["cp", f"s3://{bucket}/{key}", dst, "--part-size", "5M", "--json",
                                    *conn(ep)], ak, sk)
        j = last_json(out)
        got = S.sha256_file(dst) if os.path.exists(dst) else None
        if size >= 16 * MiB:
            print(f"# {name}: {secs:.2f} s", flush=True)
        t.ok(rc == 0 and got == want and j.get("bytes") == size,
             f"{name}: into a file, exit 0, sha256 equal", f"exit {rc} {err[-800:]}")
        allowed = expected_verified(etag, size, P)
        t.ok(j.get("verified") in allowed, f"{name}: verified '{j.get('verified')}' is what RGW offers "
             f"({' or '.join(sorted(allowed))})", out[-600:])
        if os.path.exists(dst):
            os.unlink(dst)
        # --require-verified: accepted only where a check was possible.
        if label in ("1B", "3x5MiB+7"):
            rc, out, err, _ = hoist(["cp", f"s3://{bucket}/{key}", dst, "--part-size", "5M", "--json",
                                     "--require-verified", *conn(ep)], ak, sk)
            if allowed == {"none"}:
                t.ok(rc == 4 and not os.path.exists(dst) and last_json(out).get("verified") == "none",
                     f"{name}: --require-verified refuses it (exit 4, no file)", f"exit {rc} {err[-600:]}")
            else:
                t.ok(rc == 0 and S.sha256_file(dst) == want,
                     f"{name}: --require-verified accepts it (MD5 checked)", f"exit {rc} {err[-600:]}")
            if os.path.exists(dst):
                os.unlink(dst)
    # Into a directory (the key's last segment) and to standard output.
    for key, label, size, who in objs:
        if label not in ("1B", "3x5MiB+7", "64MiB"):
            continue
        want = S.sha256_file(src[label])
        d = os.path.join(tmp, "dl-dir")
        os.makedirs(d, exist_ok=True)
        rc, out, err, _ = hoist(["cp", f"s3://{bucket}/{key}", d + "/", "--part-size", "5M", "--quiet",
                                 *conn(ep)], ak, sk)
        path = os.path.join(d, key.rsplit("/", 1)[1])
        t.ok(rc == 0 and os.path.exists(path) and S.sha256_file(path) == want,
             f"download {label} put by {who}: into a directory, named by the key's last segment",
             f"exit {rc} {err[-600:]} {os.listdir(d)}")
        if os.path.exists(path):
            os.unlink(path)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
        p = subprocess.run([HOIST, "cp", f"s3://{bucket}/{key}", "-", "--part-size", "5M", "--quiet",
                            *conn(ep)], env=env, capture_output=True, timeout=180)
        t.ok(p.returncode == 0 and sha256_bytes(p.stdout) == want and len(p.stdout) == size,
             f"download {label} put by {who}: to '-', in order, sha256 equal",
             f"exit {p.returncode} {len(p.stdout)} B {p.stderr[-600:]!r}")
    replaced_case(t, s3, ep, bucket, ak, sk, src["64MiB"])
    for key, _, _, _ in objs:
        S.error_code(lambda: s3.delete_object(Bucket=bucket, Key=key))


def replaced_case(t, s3, ep, bucket, ak, sk, path):
    """The object replaced while hoist streams it to a pipe that is read
    slowly: the ranges ahead are held by --memory-limit, so the later GETs
    go out after the PUT, and their If-Match must fail: exit 6."""
    key = "dl/replaced"
    put_boto3(s3, bucket, key, path, multipart=False)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
    p = subprocess.Popen([HOIST, "cp", f"s3://{bucket}/{key}", "-", "--part-size", "5M", "--jobs", "2",
                          "--fixed-jobs", "--memory-limit", "10M", "--quiet", *conn(ep)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.read(MiB)
    s3.put_object(Bucket=bucket, Key=key, Body=b"replaced")
    time.sleep(0.2)
    rest = p.stdout.read()
    err = p.stderr.read().decode(errors="replace")
    rc = p.wait(timeout=120)
    t.ok(rc == 6 and len(first) + len(rest) < os.path.getsize(path),
         "an object replaced mid-download (a slowly read '-'): exit 6, the output stops short",
         f"exit {rc}, {len(first) + len(rest)} B out\n{err[-600:]}")
    S.error_code(lambda: s3.delete_object(Bucket=bucket, Key=key))


# ------------------------------------------------------------------ trees

TREE = {
    "a-b": b"dash",
    "a/b/deep/x.txt": b"deep text\n",
    "a/b/y": b"why",
    "a/empty": b"",
    "d e+f": b"space and plus",
    "pct/%41": b"percent-41",
    "utf/\u00fcber/\u65e5\u672c.txt": "unicode".encode(),
    "big.bin": None,   # 2 parts + 3 B: a multipart one in the tree
}


def write_tree(root):
    files = {}
    for rel, data in TREE.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if data is None:
            make_file(p, 2 * P + 3, seed=77)
        else:
            with open(p, "wb") as f:
                f.write(data)
        files[rel] = S.sha256_file(p)
    return files


def summary(out):
    j = last_json(out)
    return j if j.get("summary") else {}


def listed(s3, bucket, prefix):
    """{key: (size, etag)} through boto3's paginator (v2)."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for c in page.get("Contents", []):
            out[c["Key"]] = (c["Size"], c["ETag"])
    return out


def tree_cases(t, s3, ep, bucket, ak, sk, tmp):
    src = os.path.join(tmp, "tree-src")
    want = write_tree(src)
    pre = "tree/"
    rc, out, err, _ = hoist(["cp", "-r", src, f"s3://{bucket}/{pre}", "--part-size", "5M", "--json",
                             *conn(ep)], ak, sk)
    t.ok(rc == 0, "cp -r up: exit 0", err[-800:])
    got = listed(s3, bucket, pre)
    t.eq(sorted(got), sorted(pre + k for k in want), "cp -r up: boto3 lists exactly the tree's keys")
    ok = True
    for rel, h in want.items():
        body = s3.get_object(Bucket=bucket, Key=pre + rel)["Body"].read()
        ok = ok and sha256_bytes(body) == h
    t.ok(ok, "cp -r up: every object's bytes equal its file (boto3 GET, sha256)")
    before = {k: s3.head_object(Bucket=bucket, Key=k)["LastModified"] for k in got}
    time.sleep(1.1)  # a re-sent object would get a later LastModified
    rc, out, err, _ = hoist(["cp", "-r", src, f"s3://{bucket}/{pre}", "--skip-existing", "--json",
                             *conn(ep)], ak, sk)
    s = summary(out)
    after = {k: s3.head_object(Bucket=bucket, Key=k)["LastModified"] for k in got}
    t.ok(rc == 0 and s.get("sent") == 0 and before == after,
         "cp -r up --skip-existing again: nothing sent (summary, LastModified unchanged)",
         f"exit {rc} {s} {err[-400:]}")

    dst = os.path.join(tmp, "tree-dst")
    os.makedirs(dst)
    rc, out, err, _ = hoist(["cp", "-r", f"s3://{bucket}/{pre}", dst, "--part-size", "5M", "--json",
                             *conn(ep)], ak, sk)
    t.ok(rc == 0 and summary(out).get("received") == len(want), "cp -r down: exit 0, every key received",
         f"exit {rc} {summary(out)} {err[-800:]}")
    d = subprocess.run(["diff", "-r", src, dst], capture_output=True, text=True)
    t.ok(d.returncode == 0, "cp -r down: diff -r equal", d.stdout[-800:] + d.stderr[-400:])
    rc, out, err, _ = hoist(["cp", "-r", f"s3://{bucket}/{pre}", dst, "--skip-existing", "--json",
                             *conn(ep)], ak, sk)
    s = summary(out)
    t.ok(rc == 0 and s.get("received") == 0 and s.get("existing") == len(want),
         "cp -r down --skip-existing again: nothing received, every key existing", f"exit {rc} {s}")
    return pre, want


# ------------------------------------------------------- ls, stat, rm -r

def objcmd_cases(t, s3, ep, bucket, ak, sk, pre):
    rc, out, err, _ = hoist(["ls", "-r", "--json", f"s3://{bucket}/{pre}", *conn(ep)], ak, sk)
    mine = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    theirs = listed(s3, bucket, pre)
    t.ok(rc == 0 and [(m["key"], m["size"], m["etag"]) for m in mine] ==
         [(k, v[0], v[1]) for k, v in sorted(theirs.items(), key=lambda kv: kv[0].encode())],
         "ls -r --json: keys (in byte order), sizes and ETags equal boto3's list_objects_v2",
         f"exit {rc} {err[-400:]}\nhoist: {mine}\nboto3: {theirs}")

    r = s3.list_objects_v2(Bucket=bucket, Prefix=pre, Delimiter="/")
    want = sorted([(c["Key"], str(c["Size"])) for c in r.get("Contents", [])] +
                  [(c["Prefix"], "PRE") for c in r.get("CommonPrefixes", [])], key=lambda x: x[0].encode())
    rc, out, err, _ = hoist(["ls", f"s3://{bucket}/{pre}", *conn(ep)], ak, sk)
    got = []
    for ln in out.splitlines():
        f = ln.split(None, 2) if not ln.lstrip().startswith("PRE") else ["", "PRE", ln.split("PRE", 1)[1].strip()]
        if len(f) == 3:
            got.append((f[2].strip(), f[1]))
    t.ok(rc == 0 and got == want, "ls (one level): keys, sizes and PRE lines equal boto3's Delimiter='/' listing",
         f"hoist: {got}\nboto3: {want}\n{out}")
    rc, out, err, _ = hoist(["ls", "--json", f"s3://{bucket}/{pre}", *conn(ep)], ak, sk)
    mine = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    t.eq([(m.get("key") or m.get("prefix"), str(m["size"]) if "key" in m else "PRE") for m in mine], want,
         "ls --json (one level): objects and prefixes equal boto3's")

    for rel in ("d e+f", "big.bin", "utf/\u00fcber/\u65e5\u672c.txt"):
        key = pre + rel
        rc, out, err, _ = hoist(["stat", "--json", f"s3://{bucket}/{key}", *conn(ep)], ak, sk)
        j = last_json(out)
        h = s3.head_object(Bucket=bucket, Key=key)
        t.ok(rc == 0 and j.get("key") == key and j.get("size") == h["ContentLength"] and
             j.get("etag") == h["ETag"] and j.get("content_type") == h.get("ContentType"),
             f"stat {rel!r}: size, ETag and Content-Type equal boto3's head_object",
             f"exit {rc} {out} {err[-300:]}\nboto3: {h['ContentLength']} {h['ETag']} {h.get('ContentType')}")
    rc, out, err, _ = hoist(["stat", f"s3://{bucket}/{pre}no-such", *conn(ep)], ak, sk)
    t.ok(rc == 3 and len(err.splitlines()) == 1 and ("NoSuchKey" in err or "not found" in err),
         "stat of a missing key: exit 3, one line saying so (a HEAD's 404 has no body)", f"exit {rc} {err}")

    s3.put_object(Bucket=bucket, Key="tree-keep", Body=b"outside the prefix")
    rc, out, err, _ = hoist(["rm", "-r", "--force", f"s3://{bucket}/{pre}", *conn(ep)], ak, sk)
    left = listed(s3, bucket, pre)
    keep = listed(s3, bucket, "tree-keep")
    t.ok(rc == 0 and not left and list(keep) == ["tree-keep"],
         "rm -r: boto3 lists nothing under the prefix, the key beside it ('tree-keep') kept",
         f"exit {rc} {err[-400:]} left {sorted(left)} keep {sorted(keep)}")
    S.error_code(lambda: s3.delete_object(Bucket=bucket, Key="tree-keep"))


def nul_case(t, s3, bucket):
    """RGW refuses a key with a NUL byte at PUT (so an RGW listing never
    holds one; hoist's handling of such a listing is tested against
    ossemu): documented in tests/rgw/README.md."""
    code = S.error_code(lambda: s3.put_object(Bucket=bucket, Key="nul/a\x00b", Body=b"x"))
    left = listed(s3, bucket, "nul/")
    t.ok(code is not None and not left, "RGW refuses a key with a NUL byte (PUT fails, nothing listed)",
         f"PUT answered {code}; listed {left}")
