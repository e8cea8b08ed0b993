"""test_cli_modes - hoist cp with each mode of issue 3.

--io pread and mmap; --jobs 1, 8, 256; --signature v1 and v4; --checksum
both, crc64, md5, none; --complete-all; --forbid-overwrite; keys that need
encoding (space, +, %, UTF-8, /); --json --verbose part records checked
part by part against independent MD5 and CRC64.  Every upload is read back
from a real ossemu and compared byte for byte.
"""
import base64
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
PS = 1 * MiB
SIZE = scaled(24 * MiB + 7, 6 * MiB + 7)

with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    f = make_file(os.path.join(d, "data"), SIZE, seed=3)

    for io in ("pread", "mmap"):
        p, js = cp(srv, f, "bkt", "io-" + io, "--io", io, "--part-size", "1M")
        check_upload(t, srv, f, "bkt", "io-" + io, p, js, "--io " + io, part_size=PS)

    # 256 in flight needs more parts than that: 100 KiB parts.
    many = make_file(os.path.join(d, "many"), scaled(300 * 102400 + 11, 64 * 102400 + 11), seed=4)
    for jobs in ("1", "8", "256"):
        p, js = cp(srv, many, "bkt", "jobs-" + jobs, "--jobs", jobs, "--part-size", "100K")
        check_upload(t, srv, many, "bkt", "jobs-" + jobs, p, js, "--jobs " + jobs, part_size=102400)

    for sig in ("v1", "v4"):
        small = make_file(os.path.join(d, "small-" + sig), 1000, seed=5)
        for name, path in (("multipart", f), ("single put", small)):
            key = "sig-%s-%s" % (sig, name.replace(" ", "-"))
            p, js = cp(srv, path, "bkt", key, "--signature", sig, "--part-size", "1M")
            check_upload(t, srv, path, "bkt", key, p, js, "--signature %s %s" % (sig, name))

    for mode in ("both", "crc64", "md5", "none"):
        p, js = cp(srv, f, "bkt", "ck-" + mode, "--checksum", mode, "--part-size", "1M")
        verified = "response" if mode in ("both", "crc64") else None
        ok = check_upload(t, srv, f, "bkt", "ck-" + mode, p, js, "--checksum " + mode,
                          part_size=PS, want_verified=verified)
        if ok and verified is None and js["crc64"] is not None:
            t.eq(js["crc64"], crc64_file(f), "--checksum %s: a CRC64 reported is right" % mode)

    p, js = cp(srv, f, "bkt", "complete-all", "--complete-all", "--part-size", "1M")
    check_upload(t, srv, f, "bkt", "complete-all", p, js, "--complete-all", part_size=PS)

    # --forbid-overwrite: a new key goes; an existing one is refused (409
    # FileAlreadyExists, exit 3) and keeps its bytes.
    first = make_file(os.path.join(d, "first"), 3 * 102400 + 1, seed=11)
    other = make_file(os.path.join(d, "other"), 3 * 102400 + 1, seed=12)
    for name, path in (("multipart", first), ("single put", os.path.join(d, "small-v1"))):
        key = "forbid-" + name.replace(" ", "-")
        p, js = cp(srv, path, "bkt", key, "--forbid-overwrite", "--part-size", "100K")
        check_upload(t, srv, path, "bkt", key, p, js, "--forbid-overwrite new key, " + name)
        p2, js2 = cp(srv, other, "bkt", key, "--forbid-overwrite", "--part-size",
                     "100K" if name == "multipart" else "1M", "--no-resume")
        t.ok(p2.returncode == 3 and "FileAlreadyExists" in p2.stderr and len(p2.stderr.splitlines()) == 1,
             "--forbid-overwrite existing key refused, exit 3: " + name,
             "rc=%s stderr=%s" % (p2.returncode, p2.stderr))
        digest, n = object_sha256(srv, "bkt", key)
        t.eq(digest, file_sha256(path), "--forbid-overwrite: object unchanged, " + name)

    # Keys that need percent-encoding, in both the single and the multipart path.
    keys = ["with space", "plus+sign", "100%", "pct%2Fnot-a-slash", "dir/sub/deep.bin",
            "\u65e5\u672c\u8a9e/\u30d5\u30a1\u30a4\u30eb", "caf\u00e9 +%/x y", "tilde~and=eq&amp;?q#h"]
    small = make_file(os.path.join(d, "k"), 5000, seed=6)
    for k in keys:
        p, js = cp(srv, small, "bkt", k)
        check_upload(t, srv, small, "bkt", k, p, js, "key %r single put" % k)
    for k in keys[:3] + keys[5:7]:
        p, js = cp(srv, many, "bkt", "mp/" + k, "--part-size", "100K")
        check_upload(t, srv, many, "bkt", "mp/" + k, p, js, "key %r multipart" % k)

    # FILE "-": a seekable standard input (a redirected file) takes the file
    # path; a pipe is a stream (test_cli_stream.py has the stream cases).
    import json
    import subprocess
    env = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK)
    with open(f, "rb") as fh:
        p = subprocess.run([HOIST, "cp", "-", "oss://bkt/stdin", "--endpoint", srv.url, "--json",
                            "--part-size", "1M"], stdin=fh, env=env, capture_output=True, text=True, timeout=300)
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    check_upload(t, srv, f, "bkt", "stdin", p, js, "FILE - (stdin redirected from a file)", part_size=PS)
    data = bytes(range(256)) * 4
    p = subprocess.run([HOIST, "cp", "-", "oss://bkt/pipe", "--endpoint", srv.url], input=data,
                       env=env, capture_output=True, timeout=60)
    import hashlib
    t.ok(p.returncode == 0 and object_sha256(srv, "bkt", "pipe") == (hashlib.sha256(data).hexdigest(), len(data)),
         "FILE - from a pipe: stored byte for byte", p.stderr)

    # --json --verbose: per-part records against independent MD5 and CRC64,
    # and the object CRC64 as the combine the engine claims to do.
    p, js = cp(srv, f, "bkt", "parts", "--part-size", "1M", "--verbose")
    if check_upload(t, srv, f, "bkt", "parts", p, js, "--json --verbose", part_size=PS):
        pl = js.get("part_list") or []
        t.eq(len(pl), js["parts"], "part_list has every part")
        t.eq([x["part_number"] for x in pl], list(range(1, js["parts"] + 1)), "part_list ascending")
        bad = []
        with open(f, "rb") as fh:
            for x in pl:
                fh.seek(x["offset"])
                b = fh.read(x["size"])
                md5 = hashlib.md5(b)
                if (x["crc64"] != crc64(b) or x["content_md5"] != base64.b64encode(md5.digest()).decode()
                        or x["etag"] != '"%s"' % md5.hexdigest().upper() or x["http_status"] != 200
                        or not x["request_id"]):
                    bad.append(x)
        t.ok(not bad, "every part's MD5, ETag and CRC64 match independent ones", bad[:3])
t.done()
