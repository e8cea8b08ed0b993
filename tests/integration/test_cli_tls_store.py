"""test_cli_tls_store - an HTTPS upload parses its CA bundle once, not per connection.

Building an X509 store from a bundle as large as the system's (about 140
certificates) costs milliseconds of CPU; libcurl keeps the store it built
for the next connection of the same multi handle (CURLOPT_CA_CACHE_TIMEOUT)
only when it came from a CA file alone, so Debian's default CApath made
hoist parse the bundle again for each of its connections.  Under strace,
a multipart upload over 8 connections to ossemu's TLS port must open the
--cacert file once, and still verify (byte-exact object, and a refused
untrusted server).
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


if not shutil.which("strace"):
    t.ok(True, "CA bundle read once # SKIP strace missing (make deps)")
    t.done()

with TempDir() as d:
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    crt, key, csr, ext = (os.path.join(d, n) for n in ("srv.pem", "srv.key", "srv.csr", "ext"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cakey, "-out", ca, "-days",
            "2", "-subj", "/CN=store-test-ca")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey, "-CAcreateserial", "-out", crt,
            "-days", "2", "-extfile", ext)
    # A bundle the size of the system's, with the test CA last.
    bundle = os.path.join(d, "bundle.pem")
    with open(bundle, "wb") as out:
        if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
            out.write(open("/etc/ssl/certs/ca-certificates.crt", "rb").read())
        out.write(open(ca, "rb").read())
    f = make_file(os.path.join(d, "f"), scaled(16 * MiB, 8 * MiB), seed=5)
    trace = os.path.join(d, "trace")
    with Ossemu(args=["--anonymous"], tls=(crt, key)) as srv:
        r = subprocess.run(["strace", "-f", "-e", "trace=openat,connect", "-o", trace, HOIST, "cp", f,
                            "oss://bkt/store", "--endpoint", srv.url, "--cacert", bundle, "--part-size",
                            "1M", "--fixed-jobs", "--jobs", "8", "--json", "--quiet"],
                           # LeakSanitizer cannot run under ptrace (it aborts).
                           env=dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK,
                                    ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"),
                           capture_output=True, text=True, timeout=300)
        t.eq(r.returncode, 0, "multipart upload over HTTPS with --cacert")
        text = open(trace).read()
        conns = len(re.findall(r"connect\(\d+, \{sa_family=AF_INET, sin_port=htons\(%d\)" % srv.port, text))
        loads = text.count('"%s"' % bundle)
        t.ok(conns >= 4, "the upload used several connections (%d)" % conns)
        t.eq(loads, 1, "the CA bundle was opened once for %d connections" % conns)
        got = subprocess.run(["curl", "-s", "--cacert", ca, "%s/bkt/store" % srv.url],
                             capture_output=True, timeout=120).stdout
        t.ok(got == open(f, "rb").read(), "the object read back is byte-exact")
        r = hoist("cp", f, "oss://bkt/untrusted", "--endpoint", srv.url, "--quiet")
        t.eq(r.returncode, 3, "without --cacert the test CA is not trusted: exit 3")
t.done()
