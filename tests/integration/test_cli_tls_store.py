"""test_cli_tls_store - an HTTPS upload parses its CA bundle once, not per connection.

Building an X509 store from a bundle as large as the system's (about 140
certificates) costs milliseconds of CPU; libcurl keeps the store it built
for the next connection of the same multi handle (CURLOPT_CA_CACHE_TIMEOUT)
only when it came from a CA file alone, so Debian's default CApath made
hoist parse the bundle again for each of its connections.  Under strace,
a multipart upload over 8 connections to ossemu's TLS port must open the
--cacert file once, and still verify (byte-exact object, and a refused
untrusted server).

Without --cacert, hoist trusts OpenSSL's hashed directory (SSL_CERT_DIR,
else the default one) through one store per engine, read a root at a time
as handshakes need it (engine/trust.c): the same upload with SSL_CERT_DIR
naming a hashed copy of the system's roots plus the test CA must read the
test CA once and no bundle; a directory without hashed names falls back
to libcurl's bundle (which does not hold the test CA: exit 3); and a host
name the certificate does not carry is still refused.
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

        # A hashed directory: the system's hash links, and the test CA
        # under its own hash (the next free suffix).
        certs = os.path.join(d, "certs")
        os.mkdir(certs)
        sysdir = "/etc/ssl/certs"
        for n in os.listdir(sysdir) if os.path.isdir(sysdir) else []:
            if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", n):
                os.symlink(os.path.join(sysdir, n), os.path.join(certs, n))
        h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", ca], check=True,
                           capture_output=True, text=True).stdout.strip()
        k = 0
        while os.path.lexists(os.path.join(certs, "%s.%d" % (h, k))):
            k += 1
        mine = os.path.join(certs, "%s.%d" % (h, k))
        shutil.copy(ca, mine)

        def traced(env_extra, key, endpoint=srv.url):
            env = dict(os.environ, OSS_ACCESS_KEY_ID=AK, OSS_ACCESS_KEY_SECRET=SK,
                       ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
            env.update(env_extra)
            r = subprocess.run(["strace", "-f", "-e", "trace=openat,connect", "-o", trace, HOIST, "cp",
                                f, "oss://bkt/" + key, "--endpoint", endpoint, "--part-size", "1M",
                                "--fixed-jobs", "--jobs", "8", "--quiet"],
                               env=env, capture_output=True, text=True, timeout=300)
            return r, open(trace).read()

        def opened(text, path):
            return len(re.findall(r'openat\([^"]*"%s", [^)]*\) = \d+' % re.escape(path), text))

        r, text = traced({"SSL_CERT_DIR": certs}, "dir")
        t.eq(r.returncode, 0, "HTTPS without --cacert, SSL_CERT_DIR holding the test CA: %s" % r.stderr.strip())
        conns = len(re.findall(r"connect\(\d+, \{sa_family=AF_INET, sin_port=htons\(%d\)" % srv.port, text))
        t.ok(conns >= 4, "the upload used several connections (%d)" % conns)
        t.eq(opened(text, mine), 1, "the test CA was read once for %d connections" % conns)
        reads = len(re.findall(r'openat\([^"]*"%s/[^"]*", [^)]*\) = \d+' % re.escape(certs), text))
        t.eq(reads, 1, "no other root of the %d in the directory was read" % len(os.listdir(certs)))
        t.eq(opened(text, "/etc/ssl/certs/ca-certificates.crt"), 0, "the system bundle was not parsed")
        got = subprocess.run(["curl", "-s", "--cacert", ca, "%s/bkt/dir" % srv.url],
                             capture_output=True, timeout=120).stdout
        t.ok(got == open(f, "rb").read(), "the object sent through the directory's store is byte-exact")

        r, text = traced({"SSL_CERT_DIR": certs}, "host", srv.url.replace("127.0.0.1", "localhost"))
        t.eq(r.returncode, 3, "a host name the certificate lacks is refused: exit 3")
        t.ok("localhost" in r.stderr, "the error names the host: %s" % r.stderr.strip()[-200:])

        plain = os.path.join(d, "plain")
        os.mkdir(plain)
        shutil.copy(ca, os.path.join(plain, "ca.pem"))
        r, text = traced({"SSL_CERT_DIR": plain}, "plain")
        t.eq(r.returncode, 3, "a directory without hashed names is not used: libcurl's bundle, exit 3")
        if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
            t.ok(opened(text, "/etc/ssl/certs/ca-certificates.crt") >= 1, "the fallback read the system bundle")
t.done()
