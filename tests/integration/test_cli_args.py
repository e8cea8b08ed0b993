"""test_cli_args - the hoist command line itself: help, version, exit code 2.

Every usage error must exit 2 with exactly one "hoist: ..." line on stderr
and send nothing: the test points hoist at a real ossemu and checks the
server saw no request at all.  Option values that are accepted are checked
where they have an effect (the upload tests read part_size, jobs ... back
from the JSON result); here a few are checked through a real upload too.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()

# --help, --version -------------------------------------------------------
p = hoist("--version")
t.ok(p.returncode == 0 and p.stdout.startswith("hoist 0.") and "library" in p.stdout,
     "--version", p.stdout + p.stderr)
p = hoist("--help")
t.ok(p.returncode == 0 and "Exit codes:" in p.stdout, "--help exits 0 with the exit codes", p.stdout)
for code in ("0 ", "2 ", "3 ", "4 ", "5 ", "6 ", "130 "):
    t.ok(("  " + code) in p.stdout, "--help documents exit code " + code.strip())
for cmd in ("cp", "abort", "ls-uploads", "ls-parts"):
    p = hoist(cmd, "--help")
    t.ok(p.returncode == 0 and p.stdout.startswith("Usage: hoist " + cmd) and "--endpoint" in p.stdout,
         cmd + " --help", p.stdout + p.stderr)
p = hoist("help", "cp")
t.ok(p.returncode == 0 and "--part-size" in p.stdout and "--callback-var" in p.stdout,
     "help cp lists cp options", p.stdout)
p = hoist()
t.eq(p.returncode, 2, "no command: exit 2")

with TempDir() as d:
    f = make_file(os.path.join(d, "f.bin"), 4096)
    with Ossemu(args=["--anonymous"]) as srv:
        url = "oss://bkt/k"
        ep = ["--endpoint", srv.url]
        bad = [
            ("unknown command", ["frobnicate"]),
            ("cp without URL", ["cp", f]),
            ("cp with three args", ["cp", f, url, "extra", *ep]),
            ("not a URL", ["cp", f, "http://x/y", *ep]),
            ("bucket uppercase", ["cp", f, "oss://Bkt/k", *ep]),
            ("bucket too short", ["cp", f, "oss://bk/k", *ep]),
            ("key starting with /", ["cp", f, "oss://bkt//k", *ep]),
            ("key too long", ["cp", f, "oss://bkt/" + "k" * 1024, *ep]),
            ("unknown option", ["cp", f, url, "--frob", *ep]),
            ("option without value", ["cp", f, url, *ep, "--jobs"]),
            ("jobs 0", ["cp", f, url, "--jobs", "0", *ep]),
            ("jobs 5000", ["cp", f, url, "--jobs", "5000", *ep]),
            ("jobs not a number", ["cp", f, url, "--jobs", "8x", *ep]),
            ("part size junk", ["cp", f, url, "--part-size", "8Q", *ep]),
            ("part size negative", ["cp", f, url, "--part-size", "-8M", *ep]),
            ("part size zero", ["cp", f, url, "--part-size", "0", *ep]),
            ("part size overflow", ["cp", f, url, "--part-size", "99999999999999999999G", *ep]),
            ("part size 2^64", ["cp", f, url, "--part-size", "16777216T", *ep]),
            ("checksum mode", ["cp", f, url, "--checksum", "sha1", *ep]),
            ("io mode", ["cp", f, url, "--io", "aio", *ep]),
            ("signature", ["cp", f, url, "--signature", "v2", *ep]),
            ("s3 with v1", ["cp", f, "s3://bkt/k", "--signature", "v1", *ep]),
            ("region with junk", ["cp", f, url, "--region", "cn_hangzhou/../x", *ep]),
            ("endpoint scheme", ["cp", f, url, "--endpoint", "ftp://127.0.0.1:1"]),
            ("endpoint empty (a shell variable unset)", ["cp", f, url, "--endpoint", "", "--json"]),
            ("endpoint swallowing the next option", ["cp", f, url, "--endpoint", "--json"]),
            ("callback var form", ["cp", f, url, "--callback-url", "http://127.0.0.1:1/",
                                   "--callback-body", "b", "--callback-var", "uid=1", *ep]),
            ("callback body without url", ["cp", f, url, "--callback-body", "b", *ep]),
            ("callback url without body", ["cp", f, url, "--callback-url", "http://127.0.0.1:1/", *ep]),
            ("cacert missing", ["cp", f, url, "--cacert", os.path.join(d, "no-such-ca.pem"), *ep]),
            ("connect timeout", ["cp", f, url, "--connect-timeout", "soon", *ep]),
            ("retries", ["cp", f, url, "--retries", "-1", *ep]),
            ("threads 0", ["cp", f, url, "--threads", "0", *ep]),
            ("abort without upload id", ["abort", url, *ep]),
            ("abort without key", ["abort", "oss://bkt", "--upload-id", "x", *ep]),
            ("ls-parts without upload id", ["ls-parts", url, *ep]),
            ("ls-uploads two URLs", ["ls-uploads", "oss://bkt", "oss://bkt2", *ep]),
            ("ls-uploads --upload-id", ["ls-uploads", "oss://bkt", "--upload-id", "x", *ep]),
        ]
        for name, argv in bad:
            p = hoist(*argv)
            lines = p.stderr.splitlines()
            t.ok(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("hoist: ")
                 and p.stdout == "",
                 "usage error, exit 2, one line: " + name,
                 "rc=%s\nstderr: %s\nstdout: %s" % (p.returncode, p.stderr, p.stdout))
        # Half a key pair is a usage error, not anonymous access.
        p = hoist("cp", f, url, *ep, env={"OSS_ACCESS_KEY_ID": "ak", "OSS_ACCESS_KEY_SECRET": ""})
        t.ok(p.returncode == 2 and "OSS_ACCESS_KEY_SECRET" in p.stderr,
             "ID without secret: exit 2 naming the variable", p.stderr)
        p = hoist("cp", f, "s3://bkt/k", *ep, env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "x"})
        t.ok(p.returncode == 2 and "AWS_ACCESS_KEY_ID" in p.stderr, "s3: secret without ID: exit 2", p.stderr)
        st = srv.stats()
        sent = {op: codes for op, codes in st.get("requests", {}).items()
                if op != "stats" and any(codes.values())}
        t.ok("requests" in st and not sent, "usage errors sent nothing to the server", str(st)[:2000])

        # Accepted spellings, observed through a real upload.
        big = make_file(os.path.join(d, "big.bin"), 3 * MiB + 7)
        for spelling, want in (("100KiB", 102400), ("100K", 102400), ("102400", 102400),
                               ("1MiB", 1 << 20), ("1m", 1 << 20)):
            p, js = cp(srv, big, "bkt", "sz", "--part-size", spelling)
            t.ok(p.returncode == 0 and js and js["part_size"] == want,
                 "--part-size %s is %d bytes" % (spelling, want), p.stdout + p.stderr)
        # A key ending in / gets the file's name.
        p, js = cp(srv, f, "bkt", "dir/")
        t.ok(p.returncode == 0 and js and js["key"] == "dir/f.bin", "key dir/ + file name", p.stdout + p.stderr)
        # An endpoint without a scheme means https://: against our plain
        # HTTP server that must fail as a transfer error, not a usage one.
        p = hoist("cp", f, url, "--endpoint", srv.url.replace("http://", ""), "--retries", "0",
                  "--connect-timeout", "5")
        t.eq(p.returncode, 3, "endpoint without scheme is https (TLS to a plain port fails: exit 3)")
t.done()
