"""test_cli_tls - hoist cp over HTTPS: --cacert, --insecure, refusals.

The test makes its own CA and server certificates with the openssl
command, starts ossemu with --tls-cert/--tls-key, and checks: with
--cacert the upload works and is byte-exact; without it the untrusted
certificate is refused (exit 3, one line); a certificate for another host
name is refused even with the CA trusted; --insecure goes through only
when asked.  Reading back uses Python's ssl with the same CA.
"""
import hashlib
import os
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(d):
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=hoist test CA")
    certs = {}
    for name, san in (("ip", "IP:127.0.0.1"), ("other", "DNS:other.example")):
        key, csr, crt = (os.path.join(d, "%s.%s" % (name, ext)) for ext in ("key", "csr", "pem"))
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
                "-days", "2", "-extfile", ext)
        certs[name] = (crt, key)
    return ca, certs


def get_sha256(url, ca):
    ctx = ssl.create_default_context(cafile=ca)
    h = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=60, context=ctx) as r:
        for b in iter(lambda: r.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


with TempDir() as d:
    ca, certs = make_pki(d)
    f = make_file(os.path.join(d, "data"), scaled(6 * MiB + 1, 2 * MiB + 1), seed=1)
    fast = ["--retries", "0", "--connect-timeout", "5", "--no-resume"]

    with Ossemu(args=["--anonymous"], tls=certs["ip"]) as srv:
        t.ok(srv.url.startswith("https://"), "ossemu serves HTTPS", srv.url)
        for name, path, extra in (("single put", os.path.join(d, "small"), []),
                                  ("multipart", f, ["--part-size", "1M"])):
            if not os.path.exists(path):
                make_file(path, 3000, seed=2)
            key = "tls-" + name.replace(" ", "-")
            p, js = cp(srv, path, "bkt", key, "--cacert", ca, *extra)
            ok = t.ok(p.returncode == 0 and js and js["verified"] == "response",
                      "--cacert: %s over HTTPS succeeds, verified" % name, p.stdout + p.stderr)
            if ok:
                t.eq(get_sha256(object_url(srv, "bkt", key), ca), file_sha256(path),
                     "--cacert: %s read back byte-exact" % name)
        p, js = cp(srv, f, "bkt", "tls-untrusted", *fast)
        t.ok(p.returncode == 3 and len(p.stderr.splitlines()) == 1 and "certificate" in p.stderr.lower(),
             "untrusted certificate refused: exit 3, one line about the certificate", p.stderr)
        t.ok(js and js["status"] == "E_TLS", "untrusted certificate: status E_TLS", js)
        p, js = cp(srv, f, "bkt", "tls-insecure", "--insecure", "--part-size", "1M")
        t.ok(p.returncode == 0 and js and js["crc64"] == file_crc64(f), "--insecure: goes through when asked",
             p.stdout + p.stderr)

    with Ossemu(args=["--anonymous"], tls=certs["other"]) as srv:
        p, js = cp(srv, f, "bkt", "tls-wrong-host", "--cacert", ca, *fast)
        t.ok(p.returncode == 3 and len(p.stderr.splitlines()) == 1 and js and js["status"] == "E_TLS",
             "certificate for another host refused even with the CA trusted", p.stderr)
t.done()
