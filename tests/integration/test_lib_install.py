"""test_lib_install - libhoist as an embedder gets it: make install, pkg-config, link, run.

- `make install DESTDIR=tmp PREFIX=/usr/local` installs exactly bin/hoist,
  lib/libhoist.so.VERSION with its .so.0 and .so links, lib/libhoist.a,
  include/hoist.h, lib/pkgconfig/hoist.pc and share/man/man1/hoist.1; the
  .so's SONAME is libhoist.so.0; nothing installed points into the build
  tree (no RPATH/RUNPATH, no build path in hoist.pc) and the installed
  hoist runs.
- examples/backup_agent.c is built from that tree with pkg-config, shared
  (`--cflags --libs`) and with libhoist static (`--static`), each together
  with tests/install/collide.c, a host's own functions named like
  libhoist's internals (md5_init, buf_append, request_new ...) that abort:
  the link must succeed and the library must not call them.
- Both agents upload to ossemu; the object read back is byte-equal to the
  file (SHA-256 and MD5 of the bytes served), and the CRC64 the agent
  prints is crcmod's.  The shared one really runs the installed .so.
- SIGINT during an upload: exit 130, status E_CANCELLED, no object; the
  next run resumes the kept parts and stores the object byte-exact.
- tests/install/dlopen_version.c dlopens libhoist.so.0: hoist_version()
  is the header's HOIST_VERSION_STRING, every function hoist.h declares
  resolves, internal names do not.
- hoist(1) documents every option `hoist --help` and each command's
  --help lists, and renders without warnings.
- `make uninstall DESTDIR=tmp` removes every file it installed.
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
SAN = {"asan": "address", "tsan": "thread"}.get(SUITE, "")
SANFLAGS = {"address": ["-fsanitize=address,undefined"], "thread": ["-fsanitize=thread"]}.get(SAN, [])
HEADER = os.path.join(TOP, "include", "hoist.h")
VERSION = re.search(r'#define HOIST_VERSION_STRING "([^"]+)"', open(HEADER).read()).group(1)


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 600)
    return subprocess.run(argv, **kw)


def make(*targets, destdir):
    args = ["make", "-s", "--no-print-directory", "-C", TOP, *targets, "DESTDIR=" + destdir,
            "PREFIX=/usr/local"]
    if SAN:
        args.append("SAN=" + SAN)
    return run(args)


def header_functions():
    """The functions hoist.h declares, as the compiler reads the header
    (gcc -aux-info), not as the Makefile's sed does."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "h.c")
        info = os.path.join(d, "h.info")
        with open(src, "w") as f:
            f.write('#include "hoist.h"\n')
        r = run(["cc", "-I" + os.path.join(TOP, "include"), "-fsyntax-only", "-aux-info", info, src])
        assert r.returncode == 0, r.stderr
        names = set()
        for line in open(info):
            if "hoist.h:" in line:
                m = re.search(r"\b(hoist_[a-z0-9_]+)\s*\(", line)
                if m:
                    names.add(m.group(1))
        return sorted(names)


def files_under(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "-> " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = oct(os.stat(p).st_mode & 0o777)
    return out


def served(srv, bucket, key):
    with urllib.request.urlopen("%s/%s/%s" % (srv.url, bucket, quote(key, safe="/")),
                                timeout=60) as r:
        return r.read()


def agent_run(agent, srv, path, key, env, extra=(), signal_after_progress=False):
    """Runs the agent; returns (returncode, {key: value} of its output, stderr)."""
    e = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK, **env)
    proc = subprocess.Popen([agent, "-e", srv.url, *extra, path, "bkt", key], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = ""
    if signal_after_progress:
        # Wait for the upload to be well under way, then Ctrl-C.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            err += line
            m = re.match(r"progress:\s*(\d+)%", line)
            # Progress counts the bytes on the wire, so the first line
            # comes as the first parts go out: wait for them to finish
            # (half a MiB at 0.25 MB/s is 2.1 s), not for the next ones.
            if m and int(m.group(1)) < 100:
                time.sleep(2.8)
                proc.send_signal(signal.SIGINT)
                break
    out, rest = proc.communicate(timeout=300)
    kv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return proc.returncode, kv, err + rest


with TempDir() as d:
    dest = os.path.join(d, "dest")
    lib = os.path.join(dest, "usr/local/lib")
    r = make("install", destdir=dest)
    t.eq(r.returncode, 0, "make install DESTDIR PREFIX=/usr/local")
    if r.returncode:
        print("#   " + r.stderr[-2000:].replace("\n", "\n#   "))
    got = files_under(dest)
    want = {
        "usr/local/bin/hoist": "0o755",
        "usr/local/lib/libhoist.so." + VERSION: "0o755",
        "usr/local/lib/libhoist.so.0": "-> libhoist.so." + VERSION,
        "usr/local/lib/libhoist.so": "-> libhoist.so.0",
        "usr/local/lib/libhoist.a": "0o644",
        "usr/local/lib/pkgconfig/hoist.pc": "0o644",
        "usr/local/include/hoist.h": "0o644",
        "usr/local/share/man/man1/hoist.1": "0o644",
    }
    t.eq(got, want, "installed files, links and modes: exactly these")

    so = os.path.join(lib, "libhoist.so." + VERSION)
    dyn = run(["readelf", "-d", so]).stdout
    t.ok("Library soname: [libhoist.so.0]" in dyn, "SONAME libhoist.so.0", dyn)
    hoist_bin = os.path.join(dest, "usr/local/bin/hoist")
    for f in (so, hoist_bin):
        dyn = run(["readelf", "-d", f]).stdout
        t.ok("RPATH" not in dyn and "RUNPATH" not in dyn, os.path.basename(f) + ": no RPATH/RUNPATH")
    pc = open(os.path.join(lib, "pkgconfig/hoist.pc")).read()
    t.ok(TOP not in pc and "prefix=/usr/local" in pc and "Version: " + VERSION in pc,
         "hoist.pc names /usr/local and the version, not the build tree", pc)
    r = run([hoist_bin, "--version"])
    t.eq(r.stdout.splitlines()[0] if r.stdout else "", "hoist %s (library %s)" % (VERSION, VERSION),
         "the installed hoist runs")

    # pkg-config of the staging tree, as a packager's build would see it.
    pcenv = dict(os.environ, PKG_CONFIG_PATH=os.path.join(lib, "pkgconfig"),
                 PKG_CONFIG_SYSROOT_DIR=dest)

    def pkg(*args):
        r = run(["pkg-config", *args, "hoist"], env=pcenv)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    example = os.path.join(TOP, "examples", "backup_agent.c")
    collide = os.path.join(TOP, "tests", "install", "collide.c")
    cflags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", *SANFLAGS]
    shared = os.path.join(d, "agent-shared")
    static = os.path.join(d, "agent-static")
    r = run(["cc", *cflags, "-o", shared, example, collide, *pkg("--cflags", "--libs")])
    t.eq(r.returncode, 0, "agent built with pkg-config --cflags --libs hoist")
    if r.returncode:
        print("#   " + r.stderr[-3000:].replace("\n", "\n#   "))
    r = run(["cc", *cflags, "-o", static, example, collide, *pkg("--cflags"),
             "-Wl,--as-needed", "-Wl,-Bstatic", "-lhoist", "-Wl,-Bdynamic",
             *pkg("--static", "--libs")])
    t.eq(r.returncode, 0, "agent built with libhoist.a and pkg-config --static --libs hoist")
    if r.returncode:
        print("#   " + r.stderr[-3000:].replace("\n", "\n#   "))
    needed = lambda f: re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                  run(["readelf", "-d", f]).stdout)
    t.ok("libhoist.so.0" in needed(shared), "the shared agent needs libhoist.so.0", needed(shared))
    t.ok(not any(n.startswith("libhoist") for n in needed(static)),
         "the static agent needs no libhoist", needed(static))
    ldd = run(["ldd", shared], env=dict(os.environ, LD_LIBRARY_PATH=lib)).stdout
    t.ok("libhoist.so.0 => " + os.path.join(lib, "libhoist.so.0") in ldd,
         "the shared agent loads the installed libhoist.so.0", ldd)

    runenv = {"LD_LIBRARY_PATH": lib}
    with Ossemu(args=["--anonymous"]) as srv:
        for name, agent in (("shared", shared), ("static", static)):
            for size, extra in ((777, ()), (3 * MiB + 5, ("-p", str(1 * MiB)))):
                path = make_file(os.path.join(d, "in-%d" % size), size, seed=size)
                data = open(path, "rb").read()
                key = "agent/%s/%d" % (name, size)
                rc, kv, err = agent_run(agent, srv, path, key, runenv, extra)
                what = "%s agent, %d bytes" % (name, size)
                if not t.eq((rc, kv.get("status")), (0, "0"), what + ": stored"):
                    print("#   " + err[-1500:].replace("\n", "\n#   "))
                t.eq(kv.get("library"), VERSION, what + ": runs library " + VERSION)
                t.eq(kv.get("crc64"), str(crc64(data)), what + ": CRC64 printed is crcmod's")
                body = served(srv, "bkt", key)
                t.ok(hashlib.sha256(body).digest() == hashlib.sha256(data).digest() and
                     hashlib.md5(body).digest() == hashlib.md5(data).digest(),
                     what + ": object byte-equal to the file (SHA-256, MD5)")
                t.ok("progress: 100%" in err, what + ": progress reached 100%")

    # Ctrl-C, then resume.
    with Ossemu(args=["--anonymous", "--conn-bandwidth", "0.25"]) as srv:
        # Bandwidth-bound, not CPU-bound: the same size in every suite
        # (96 parts of 512 KiB, at most 64 at once at 0.25 MB/s each: two
        # rounds or more of about 2.1 s).
        path = make_file(os.path.join(d, "cancel"), 48 * MiB, seed=77)
        data = open(path, "rb").read()
        rc, kv, err = agent_run(shared, srv, path, "agent/cancel", runenv, ("-p", str(MiB // 2)),
                                signal_after_progress=True)
        if not t.eq((rc, kv.get("status")), (130, "12"), "SIGINT: exit 130, HOIST_E_CANCELLED (12)"):
            print("#   " + err[-1500:].replace("\n", "\n#   "))
        t.eq(head_status(srv, "bkt", "agent/cancel"), 404, "SIGINT: no object stored")
        rc, kv, err = agent_run(shared, srv, path, "agent/cancel", runenv, ("-p", str(MiB // 2)))
        t.eq((rc, kv.get("status")), (0, "0"), "the next run completes")
        t.ok(int(kv.get("resumed_parts", "0")) > 0, "the next run resumed the kept parts (%s)"
             % kv.get("resumed_parts"), err[-1500:])
        # Reading 48 MiB back through this server's paced GETs would take
        # minutes: the server's ETag (the MD5s of the parts it stored) and
        # the CRC64 the agent checked stand for the bytes.
        half = MiB // 2
        t.eq(kv.get("etag"), oss_etag(path, half, expected_parts(len(data), half)),
             "the resumed object's ETag is that of the file's parts")
        t.eq(kv.get("crc64"), str(file_crc64(path)), "... and its CRC64 the file's")

    # dlopen.
    dl = os.path.join(d, "dlopen_version")
    r = run(["cc", *SANFLAGS, "-o", dl, os.path.join(TOP, "tests", "install", "dlopen_version.c"),
             "-ldl"])
    t.eq(r.returncode, 0, "dlopen_version built")
    funcs = header_functions()
    t.ok(len(funcs) >= 19 and "hoist_version" in funcs, "hoist.h declares %d functions" % len(funcs))
    r = run([dl, VERSION, *funcs, "--", "md5_init", "buf_append", "request_new", "loop_new",
             "hoist__in_callback", "topo_new", "xml_parse"], env=dict(os.environ, LD_LIBRARY_PATH=lib))
    oks = [l for l in r.stdout.splitlines() if l.startswith("ok ")]
    t.ok(r.returncode == 0 and len(oks) == 2 + len(funcs) + 7,
         "dlopen: version, %d API functions resolve, 7 internals hidden" % len(funcs),
         r.stdout + r.stderr)

    # The man page documents every option the help lists.
    man = open(os.path.join(TOP, "engine", "cli", "hoist.1")).read().replace("\\-", "-")
    opts = set()
    for cmd in ([], ["cp"], ["abort"], ["ls-uploads"], ["ls-parts"], ["ls"], ["stat"], ["rm"]):
        h = run([hoist_bin, *cmd, "--help"])
        opts |= set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", h.stdout + h.stderr))
    undocumented = sorted(o for o in opts if not re.search(r"(?<![\w-])" + o + r"(?![\w-])", man))
    t.ok(len(opts) > 30, "%d options in the help texts" % len(opts))
    t.eq(undocumented, [], "hoist(1) documents every option of the help texts")
    if shutil.which("man"):
        r = run(["man", "--warnings", "-l", os.path.join(dest, "usr/local/share/man/man1/hoist.1")],
                env=dict(os.environ, MANWIDTH="80"))
        t.ok(r.returncode == 0 and "EXIT STATUS" in r.stdout and not r.stderr.strip(),
             "man -l renders hoist(1) without warnings", r.stderr[-1500:])

    r = make("uninstall", destdir=dest)
    t.eq(r.returncode, 0, "make uninstall")
    t.eq(sorted(files_under(dest)), [], "make uninstall removed every installed file")
t.done()
