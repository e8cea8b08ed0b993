"""test_lib_download - the library's three download targets through an
embedding program (examples/restore_agent.c, built here against this
build's library), against a real ossemu (issue 15).

 1. path, fd and writer (an ordered callback): byte-exact, the CRC64
    reported equals crcmod's; the writer is handed the bytes in order
    (its own CRC64 of what it got equals the object's).
 2. hoist_download_cancel from another thread mid-download (a slow
    server): E_CANCELLED, the path target not created.
 3. expected_crc64 from the caller's catalogue, wrong: E_CHECKSUM, nothing
    at the path.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
import hoisttest  # noqa: E402

t = Tap()
CRED = {"OSS_ACCESS_KEY_ID": "ak", "OSS_ACCESS_KEY_SECRET": "sk"}


def build_agent(d):
    exe = os.path.join(d, "restore_agent")
    libs = subprocess.run(["pkg-config", "--libs", "libcurl", "openssl", "libisal", "hwloc", "expat"],
                          capture_output=True, text=True).stdout.split()
    san = {"asan": ["-fsanitize=address,undefined"], "tsan": ["-fsanitize=thread"]}.get(hoisttest.SUITE, [])
    cmd = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pthread", *san, "-I", os.path.join(TOP, "include"),
           os.path.join(TOP, "examples", "restore_agent.c"), os.path.join(BUILD, "libhoist.a"), *libs, "-lm",
           "-o", exe]
    r = subprocess.run(cmd, capture_output=True, text=True)
    t.ok(r.returncode == 0, "restore_agent builds against the library", r.stderr[-2000:])
    return exe


def agent(exe, srv, *args, timeout=300):
    e = dict(os.environ, HOIST_ENDPOINT=srv.url, **CRED)
    r = subprocess.run([exe, *args], env=e, capture_output=True, text=True, timeout=timeout)
    fields = {m.group(1): m.group(2) for m in re.finditer(r"(\w+)=(.*?)(?= \w+=|$)", r.stdout.strip())}
    return r, fields


def same(a, b):
    with open(a, "rb") as x, open(b, "rb") as y:
        return x.read() == y.read()


with TempDir() as d:
    exe = build_agent(d)
    size = scaled(20, 6) * MiB + 3
    src = make_file(os.path.join(d, "src"), size, seed=12)
    want_crc = file_crc64(src)
    with Ossemu() as srv:
        p, js = cp(srv, src, "bkt", "obj", env=CRED)
        t.ok(p.returncode == 0, "the object is uploaded", p.stderr)
        for mode in ("path", "fd", "writer"):
            out = os.path.join(d, "out-" + mode)
            r, f = agent(exe, srv, mode, "bkt", "obj", out, "--part-size", str(512 * 1024), "--jobs", "6")
            t.ok(r.returncode == 0 and f.get("status") == "OK", mode + ": the download succeeds",
                 r.stdout + r.stderr)
            t.ok(os.path.exists(out) and same(src, out), mode + ": the bytes are the object's")
            t.eq(f.get("crc64"), str(want_crc), mode + ": the CRC64 reported is crcmod's")
            t.eq(f.get("verified"), "5", mode + ": verified against x-oss-hash-crc64ecma")
            if mode == "writer":
                t.eq(f.get("writer_crc64"), str(want_crc),
                     "writer: the callback was handed the bytes in order")
                t.ok(int(f.get("calls", "0")) > 1, "writer: in several calls", f.get("calls"))

        out = os.path.join(d, "wrong")
        r, f = agent(exe, srv, "path", "bkt", "obj", out, "--expect-crc64", str(want_crc ^ 1))
        t.ok(r.returncode == 1 and f.get("status") == "checksum mismatch" and not os.path.exists(out),
             "expected_crc64 wrong: checksum mismatch, nothing at the path", r.stdout + r.stderr)

    with Ossemu(args=["--conn-bandwidth", "2"]) as srv:
        cp(srv, src, "bkt", "obj", env=CRED)
        out = os.path.join(d, "cancelled")
        r, f = agent(exe, srv, "path", "bkt", "obj", out, "--part-size", str(1024 * 1024), "--jobs", "2",
                     "--cancel-after", "600")
        t.ok(r.returncode == 1 and f.get("status") == "cancelled" and not os.path.exists(out),
             "hoist_download_cancel from another thread: cancelled, no file at the path",
             r.stdout + r.stderr)
t.done()
