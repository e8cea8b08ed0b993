"""test_lib_stream - the pull and push stream APIs through an embedding
program (examples/stream_agent.c, built here against this build's
library), against a real ossemu (issue 14).

 1. push: a generated stream written with hoist_upload_write in chunks
    that do not match the parts: byte-exact, CRC64 equals crcmod's.
 2. pull: the same bytes from a read callback.
 3. pull, the reader fails midway: the upload fails, nothing is
    completed (no object), the multipart upload is aborted.
 4. push, the writer blocked by the memory budget (a 4 MiB budget, a slow
    server): hoist_upload_cancel from another thread releases it at once;
    the write returns "cancelled", nothing is left open.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403
import hoisttest  # noqa: E402

t = Tap()


def pattern(n):
    """stream_agent.c's bytes, made independently."""
    x = 1
    block = bytearray(65536)
    mask = (1 << 64) - 1
    for i in range(65536):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        block[i] = x & 0xFF
    block = bytes(block)
    tables = [bytes(b ^ k for b in range(256)) for k in range(256)]
    out = bytearray()
    k = 0
    while len(out) < n:
        out += block.translate(tables[k & 0xFF])
        k += 1
    return bytes(out[:n])


def build_agent(d):
    exe = os.path.join(d, "stream_agent")
    libs = subprocess.run(["pkg-config", "--libs", "libcurl", "openssl", "libisal", "hwloc", "expat"],
                          capture_output=True, text=True).stdout.split()
    san = {"asan": ["-fsanitize=address,undefined"], "tsan": ["-fsanitize=thread"]}.get(hoisttest.SUITE, [])
    cmd = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pthread", *san, "-I", os.path.join(TOP, "include"),
           os.path.join(TOP, "examples", "stream_agent.c"), os.path.join(BUILD, "libhoist.a"), *libs, "-lm",
           "-o", exe]
    r = subprocess.run(cmd, capture_output=True, text=True)
    t.ok(r.returncode == 0, "stream_agent builds against the library", r.stderr[-2000:])
    return exe


def agent(exe, srv, *args, timeout=300):
    e = dict(os.environ, HOIST_ENDPOINT=srv.url, **CRED_ENV)
    r = subprocess.run([exe, *args], env=e, capture_output=True, text=True, timeout=timeout)
    # "k=v k=v": values may hold spaces ("local I/O error").
    fields = {m.group(1): m.group(2) for m in re.finditer(r"(\w+)=(.*?)(?= \w+=|$)", r.stdout.strip())}
    return r, fields


with TempDir() as d:
    exe = build_agent(d)
    n = scaled(20, 6) * MiB + 3
    want = pattern(n)
    with Ossemu(args=["--anonymous"]) as srv:
        for mode in ("push", "pull"):
            key = "agent/" + mode
            r, f = agent(exe, srv, mode, "bkt", key, str(n), "--part-size", str(MiB))
            t.ok(r.returncode == 0 and f.get("status") == "OK", mode + ": the upload succeeds",
                 r.stdout + r.stderr[-1000:])
            t.eq(f.get("parts"), str((n + MiB - 1) // MiB), mode + ": one part per MiB")
            t.eq(f.get("crc64"), str(crc64(want)), mode + ": CRC64 equals crcmod's")
            t.ok(get_object(srv.url, "bkt", key) == want, mode + ": the object equals the stream")

        s0 = srv.stats()
        r, f = agent(exe, srv, "pull", "bkt", "agent/fails", str(n), "--part-size", str(MiB),
                     "--fail-at", str(3 * MiB + 17))
        t.ok(r.returncode == 1 and f.get("status") == "local I/O error",
             "pull, reader fails midway: the upload fails with an I/O error", r.stdout + r.stderr[-1000:])
        t.ok("reading the stream" in r.stderr, "pull, reader fails midway: the line says the read failed",
             r.stderr[-500:])
        t.eq(head_status(srv, "bkt", "agent/fails"), 404, "pull, reader fails midway: no object")
        t.eq(ls_uploads(srv.url, "agent/fails"), [], "pull, reader fails midway: no upload left open")
        s1 = srv.stats()
        t.ok(stats_sum(s1, "abort") > stats_sum(s0, "abort") and
             stats_sum(s1, "complete") == stats_sum(s0, "complete"),
             "pull, reader fails midway: aborted, never completed")

    with Ossemu(args=["--anonymous", "--conn-bandwidth", "1"]) as srv:
        r, f = agent(exe, srv, "push", "bkt", "agent/blocked", str(64 * MiB), "--part-size", str(MiB),
                     "--memory-limit", str(4 * MiB), "--cancel-after", "1500")
        secs = float(f.get("seconds", "99"))
        t.eq(f.get("write_status"), "cancelled", "push, writer blocked by the budget: the write returns cancelled")
        t.eq(f.get("status"), "cancelled", "push, cancelled: the upload says cancelled")
        t.ok(secs < 6, "push, cancelled: released at once (%.1f s after a 1.5 s wait)" % secs)
        t.eq(ls_uploads(srv.url, "agent/blocked"), [], "push, cancelled: no upload left open")
t.done()
