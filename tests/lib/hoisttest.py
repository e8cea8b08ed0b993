"""hoisttest - shared helpers for hoist's integration and interop tests.

What it owns: starting and stopping a real `ossemu` on a free loopback port,
running the `hoist` CLI, an independent CRC-64/XZ (crcmod, not our code),
raw signed-free HTTP helpers, and TAP output so tests/run.sh can count cases.

Every test is a plain script:

    from hoisttest import *
    t = Tap()
    with Ossemu(buckets=["bkt"], keys=["ak:sk"]) as srv:
        t.ok(cond, "name", detail)
    t.done()

Run with Debian's /usr/bin/python3 (boto3 and crcmod are Debian packages).
"""
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import crcmod

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HOIST_BUILD", os.path.join(TOP, "build"))
HOIST = os.environ.get("HOIST_BIN", os.path.join(BUILD, "hoist"))
OSSEMU = os.environ.get("OSSEMU_BIN", os.path.join(BUILD, "ossemu"))
SUITE = os.environ.get("HOIST_SUITE", "plain")
# Sanitizer builds are several times slower: tests scale their sizes by this.
SLOW = SUITE in ("asan", "tsan")

# CRC-64/XZ: poly 0x42F0E1EBA9EA3693 reflected, init/xorout all ones.
# Independent of hoist's ISA-L based code.
_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def hermetic_aws_env():
    """No user AWS config and no proxy between a client and 127.0.0.1 (an
    ossemu started later inherits this environment too).  Call it before
    importing boto3."""
    for k in list(os.environ):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy") or \
                k.startswith("AWS_"):
            del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


def crc64(data, prev=0):
    return _crc64(data, prev)


def crc64_file(path):
    c = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return c
            c = _crc64(b, c)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def make_file(path, size, seed=1):
    """A file of pseudo-random bytes (fast: repeats a random 1 MiB block with
    a per-block counter, so no two blocks are equal)."""
    rnd = random.Random(seed)
    block = bytes(rnd.getrandbits(8) for _ in range(65536)) * 16
    with open(path, "wb") as f:
        n = 0
        i = 0
        while n < size:
            chunk = (i.to_bytes(8, "little") + block)[: min(len(block), size - n)]
            f.write(chunk)
            n += len(chunk)
            i += 1
    return path


class Tap:
    """Minimal TAP producer: ok/not ok lines, never exits early."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {name}", flush=True)
            if detail:
                for line in str(detail).splitlines()[:40]:
                    print(f"#   {line}", flush=True)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


class Ossemu:
    """A real ossemu process on 127.0.0.1 with a free port.

    Use as a context manager; .url is "http://127.0.0.1:PORT"; .stats()
    fetches /-/stats; .stop() sends SIGTERM and returns the exit code.
    imds="ROLE:TTL" also serves the ECS metadata service at .url (so the
    metadata base URL a client is given is .url itself)."""

    def __init__(self, buckets=("bkt",), keys=("ak:sk",), args=(), data_dir=None,
                 discard=False, port=0, tls=None, imds=None, imds_mode=None):
        self.tmp = None
        if data_dir is None and not discard:
            self.tmp = tempfile.mkdtemp(prefix="ossemu-")
            data_dir = self.tmp
        self.data_dir = data_dir
        cmd = [OSSEMU, "--host", "127.0.0.1", "--port", str(port)]
        for b in buckets:
            cmd += ["--bucket", b]
        for k in keys:
            cmd += ["--key", k]
        if discard:
            cmd += ["--discard"]
        else:
            cmd += ["--data-dir", data_dir]
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if imds:  # "ROLE[:TTL_SECONDS]": the metadata service under .url + "/latest/"
            cmd += ["--imds", imds]
        if imds_mode:  # "both", "v2" (token required) or "v1" (no token service)
            cmd += ["--imds-mode", imds_mode]
        cmd += list(args)
        self.cmd = cmd
        self.log = tempfile.NamedTemporaryFile(prefix="ossemu-log-", delete=False)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline().strip()
        prefix = "ossemu listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            raise RuntimeError(f"ossemu did not start: {line!r}; stderr: {self.stderr()}")
        self.url = line[len(prefix):]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stderr(self):
        with open(self.log.name, "r", errors="replace") as f:
            return f.read()

    def stats(self):
        ctx = None
        if self.url.startswith("https:"):
            import ssl
            ctx = ssl._create_unverified_context()  # the test's own self-signed server
        with urllib.request.urlopen(self.url + "/-/stats", timeout=10, context=ctx) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        err = self.stderr()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        # A server that failed on its own (a sanitizer report, an error exit)
        # fails the test that ran it; one the test killed (rc < 0) does not.
        bad = rc is not None and rc > 0
        if bad or "Sanitizer" in err or "runtime error:" in err:
            sys.stdout.write("not ok - ossemu exited %s or reported a sanitizer error\n" % rc)
            for line in err.splitlines()[-30:]:
                sys.stdout.write("#   " + line + "\n")
            sys.stdout.flush()
            if exc[0] is None:
                raise RuntimeError("ossemu failed: exit %s" % rc)


def hoist(*args, env=None, timeout=600, input=None):
    """Runs the hoist CLI; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.setdefault("OSS_ACCESS_KEY_ID", "ak")
    e.setdefault("OSS_ACCESS_KEY_SECRET", "sk")
    if env:
        e.update(env)
    return subprocess.run([HOIST, *args], env=e, capture_output=True, text=True,
                          timeout=timeout, input=input)


def hash_threads(pid):
    """{tid: (comm, set of CPUs it may run on)} of the engine's hoist-hash-*
    threads in process pid, as the kernel reports them (/proc/PID/task and
    sched_getaffinity of each thread id)."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
            if comm.startswith("hoist-hash-"):
                out[int(tid)] = (comm, os.sched_getaffinity(int(tid)))
        except OSError:
            continue  # the thread ended meanwhile
    return out


def get_object(url, bucket, key):
    """Anonymous GET helper for servers started with --anonymous."""
    from urllib.parse import quote
    with urllib.request.urlopen(f"{url}/{bucket}/{quote(key, safe='/')}", timeout=60) as r:
        return r.read()
