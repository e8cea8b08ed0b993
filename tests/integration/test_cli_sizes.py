"""test_cli_sizes - hoist cp at the sizes where part planning changes.

Issue 3's list: 0, 1, 102399, 102400 (the OSS minimum part), part-1, part,
part+1, 3 parts + 7 bytes, and 300 MiB (scaled down under the sanitizers),
at the default 8 MiB part size and at the 100 KiB minimum.  Each upload goes
to a real ossemu over HTTP and is checked by check_upload: exit 0, the
object read back byte for byte (sha256), hoist's CRC64 against crcmod, the
part count, and the ETag against the OSS rule computed here.  Also the
human printout of one upload.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
P = 8 * MiB
MIN = 102400
sizes = [0, 1, MIN - 1, MIN, P - 1, P, P + 1, 3 * P + 7, scaled(300 * MiB, 40 * MiB)]

with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    for i, size in enumerate(sizes):
        f = make_file(os.path.join(d, "s%d" % size), size, seed=i + 1)
        p, js = cp(srv, f, "bkt", "size/%d" % size)
        check_upload(t, srv, f, "bkt", "size/%d" % size, p, js, "size %d" % size, part_size=P)
        os.unlink(f)

    # At the 100 KiB minimum part size: the smallest multipart uploads.
    for i, size in enumerate([MIN - 1, MIN, MIN + 1, 3 * MIN + 7]):
        f = make_file(os.path.join(d, "m%d" % size), size, seed=100 + i)
        p, js = cp(srv, f, "bkt", "min/%d" % size, "--part-size", "100K")
        check_upload(t, srv, f, "bkt", "min/%d" % size, p, js, "100 KiB parts, size %d" % size,
                     part_size=MIN)

    # Below the minimum the part size is raised, never refused.
    f = make_file(os.path.join(d, "raise"), 5 * MIN, seed=7)
    p, js = cp(srv, f, "bkt", "raise", "--part-size", "1K")
    ok = check_upload(t, srv, f, "bkt", "raise", p, js, "--part-size 1K")
    if ok:
        t.ok(js["part_size"] >= MIN, "part size raised to at least 100 KiB", js["part_size"])

    # The human printout (no --json): the seed's fields, CRC64 decimal.
    f = make_file(os.path.join(d, "human"), 2 * MIN + 5, seed=9)
    p = hoist("cp", f, "oss://bkt/human", "--endpoint", srv.url, "--part-size", "100K")
    out = p.stdout
    t.eq(p.returncode, 0, "human: exit 0")
    for field in ("status:", "request id:", "bucket:", "key:", "location:", "ETag:",
                  "encoding type:", "CRC64:", "version id:", "bytes:"):
        t.ok(("\n" + field) in ("\n" + out), "human printout has " + field, out)
    t.ok("CRC64:         %d\n" % crc64_file(f) in out, "human printout: CRC64 in decimal", out)
    t.ok("CRC64 verified by response" in out, "human printout says how CRC64 was verified", out)
    t.ok(oss_etag(f, MIN, 3) in out, "human printout: the object's ETag", out)
    t.eq(p.stderr, "", "human: nothing on stderr (no terminal, no progress bar)")

    # --quiet: nothing at all on success.
    p = hoist("cp", f, "oss://bkt/quiet", "--endpoint", srv.url, "--quiet")
    t.ok(p.returncode == 0 and p.stdout == "" and p.stderr == "", "--quiet prints nothing",
         p.stdout + p.stderr)

    # --verbose: one line per part, with the seed's fields.
    p = hoist("cp", f, "oss://bkt/verbose", "--endpoint", srv.url, "--part-size", "100K", "--verbose")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("part ")]
    t.ok(p.returncode == 0 and len(lines) == 3, "--verbose: a line per part", p.stdout + p.stderr)
    t.ok(all("status 200" in ln and "request id" in ln and "content MD5" in ln and "ETag" in ln
             and "CRC64" in ln for ln in lines), "--verbose part lines carry status, request id, MD5, ETag, CRC64",
         p.stdout)
t.done()
