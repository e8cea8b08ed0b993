"""test_cli_md5 - the default mode (--checksum both) on every MD5 path.

Each path this CPU has (read from /proc/cpuinfo, not from hoist) is forced
with HOIST_MD5 and uploads, in the default mode, to a real ossemu, which
checks every Content-MD5 it is sent (a wrong one is 400 InvalidDigest, and
the control below proves it checks): multipart with 100 KiB parts (many
batches of full lanes, lanes refilled, a short last part), 1 MiB and 5 MiB
parts (fewer parts than lanes), pread and mmap, and single PutObjects (an
empty file, 1000 bytes, exactly one part).  Every part's MD5 as hoist sent
it (--json --verbose) is compared with hashlib's over the file's bytes,
the object is read back, the ETag and CRC64 checked independently.

Also: `hoist --version` and --verbose name the path; the default is the
widest the CPU has; a forced path the CPU lacks, or an unknown name, is
refused with exit 2, one line, and nothing sent.  This CPU has every path,
so "lacks" is simulated with HOIST_MD5_HIDE (a test-only knob that makes
the path choice treat the named paths as absent from CPUID); where the CPU
really lacks AVX-512 the refusal is also checked without the knob.
"""
import base64
import hashlib
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def cpu_paths():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    paths = ["scalar"]
    if "avx2" in flags:
        paths.append("avx2")
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        paths.append("avx512")
    return paths


PATHS = cpu_paths()
SIZE = scaled(24 * MiB + 7, 6 * MiB + 7)


def parts_match_file(path, pl):
    """Part records whose offset, size or Content-MD5 disagree with the file."""
    bad = []
    with open(path, "rb") as fh:
        for x in pl:
            fh.seek(x["offset"])
            b = fh.read(x["size"])
            if x["content_md5"] != base64.b64encode(hashlib.md5(b).digest()).decode() \
                    or len(b) != x["size"] or x["http_status"] != 200:
                bad.append(x)
    return bad


# --version names the path, the default is the widest one --------------------
p = hoist("--version")
t.ok(p.returncode == 0 and ("md5: %s\n" % PATHS[-1]) in p.stdout,
     "--version names the widest MD5 path the CPU has (%s)" % PATHS[-1], p.stdout)
for path in PATHS:
    p = hoist("--version", env={"HOIST_MD5": path})
    t.ok(p.returncode == 0 and ("md5: %s\n" % path) in p.stdout,
         "HOIST_MD5=%s: --version names it" % path, p.stdout)

with TempDir() as d, Ossemu(args=["--anonymous"]) as srv:
    big = make_file(os.path.join(d, "big"), SIZE, seed=21)
    empty = make_file(os.path.join(d, "empty"), 0, seed=22)
    small = make_file(os.path.join(d, "small"), 1000, seed=23)
    one = make_file(os.path.join(d, "one"), 102400, seed=24)

    # Control: ossemu does check Content-MD5, so a wrong digest cannot pass.
    req = urllib.request.Request(srv.url + "/bkt/control", data=b"x" * 1000, method="PUT",
                                 headers={"Content-MD5": base64.b64encode(hashlib.md5(b"y").digest()).decode()})
    try:
        urllib.request.urlopen(req, timeout=30)
        code, body = 200, b""
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    t.ok(code == 400 and b"InvalidDigest" in body,
         "control: ossemu answers a wrong Content-MD5 with 400 InvalidDigest", "%s %r" % (code, body[:200]))

    for path in PATHS:
        env = {"HOIST_MD5": path}
        for ps, ps_bytes, io in (("100K", 102400, "pread"), ("1M", MiB, "mmap"),
                                 ("5M", 5 * MiB, "pread"), ("5M", 5 * MiB, "mmap")):
            name = "HOIST_MD5=%s --part-size %s --io %s" % (path, ps, io)
            key = "mp-%s-%s-%s" % (path, ps, io)
            p, js = cp(srv, big, "bkt", key, "--part-size", ps, "--io", io, "--verbose", env=env)
            if check_upload(t, srv, big, "bkt", key, p, js, name, part_size=ps_bytes):
                pl = js.get("part_list") or []
                t.eq(len(pl), js["parts"], name + ": a record per part")
                bad = parts_match_file(big, pl)
                t.ok(not bad, name + ": every Content-MD5 sent is hashlib's MD5 of the part", bad[:3])
                t.eq(pl[-1]["size"], SIZE - (js["parts"] - 1) * ps_bytes, name + ": the short last part")
            t.ok(("* MD5: %s (" % path) in p.stderr, name + ": --verbose names the path",
                 p.stderr[-500:])

        for label, f in (("empty", empty), ("1000 bytes", small), ("exactly one part", one)):
            name = "HOIST_MD5=%s single PutObject, %s" % (path, label)
            key = "put-%s-%s" % (path, label.replace(" ", "-"))
            p, js = cp(srv, f, "bkt", key, "--part-size", "100K", env=env)
            if check_upload(t, srv, f, "bkt", key, p, js, name, part_size=102400):
                with open(f, "rb") as fh:
                    want = hashlib.md5(fh.read()).hexdigest().upper()
                # A single PUT's ETag is the MD5 of the object: the server
                # accepted our Content-MD5 and computed the same digest.
                t.eq(js["etag"], '"%s"' % want, name + ": ETag is the object's MD5")

    # Refusals: exit 2, exactly one line naming the problem, nothing sent.
    def sent(st):
        return sum(sum(v.values()) for k, v in st["requests"].items() if k != "stats")

    before = sent(srv.stats())
    cases = [("bogus", None, "HOIST_MD5=bogus: not an MD5 path (scalar, avx2 or avx512)")]
    if "avx512" in PATHS:
        cases.append(("avx512", "avx512", "HOIST_MD5=avx512: this CPU lacks AVX-512 (F, BW and VL); "
                      "set it to avx2 or scalar, or unset it"))
    else:
        cases.append(("avx512", None, "HOIST_MD5=avx512: this CPU lacks AVX-512"))
    if "avx2" in PATHS:
        cases.append(("avx2", "avx512,avx2", "HOIST_MD5=avx2: this CPU lacks AVX2; set it to scalar, or unset it"))
    for forced, hide, msg in cases:
        env = {"HOIST_MD5": forced}
        if hide:
            env["HOIST_MD5_HIDE"] = hide
        p, js = cp(srv, big, "bkt", "refused-" + forced, env=env)
        lines = p.stderr.splitlines()
        # The CLI's one failure line may name the status first
        # ("hoist: invalid argument: ..."); the engine's message follows.
        t.ok(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("hoist: ")
             and msg in lines[0],
             "HOIST_MD5=%s%s refused: exit 2, one line" % (forced, " (hidden)" if hide else ""),
             "rc=%s stderr=%r" % (p.returncode, p.stderr))
        p = hoist("--version", env=env)
        t.ok(p.returncode == 0 and "md5: none" in p.stdout,
             "HOIST_MD5=%s%s: --version says no path" % (forced, " (hidden)" if hide else ""), p.stdout)
    t.eq(sent(srv.stats()), before, "refused runs sent nothing")
    # Hiding a path only matters when it is forced: unforced, the next widest.
    if len(PATHS) > 1:
        p = hoist("--version", env={"HOIST_MD5_HIDE": PATHS[-1]})
        t.ok(("md5: %s\n" % PATHS[-2]) in p.stdout,
             "HOIST_MD5_HIDE=%s: the default becomes %s" % (PATHS[-1], PATHS[-2]), p.stdout)
t.done()
