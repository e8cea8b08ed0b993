"""test_cli_s3 - hoist cp s3://BUCKET/KEY against ossemu's S3 dialect.

The CLI side of issue 6: s3:// URLs, credentials from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, else from ~/.aws/credentials for $AWS_PROFILE (the
AWS CLI's precedence: environment first), SigV4 on the wire.  Each upload is
read back and its ETag compared with S3's MD5-of-digests rule computed
here; hoist's CRC64 with crcmod's.  The tests against a real Ceph RGW are
elsewhere (tests/integration/test_s3_rgw.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
NOENV = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
         "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""}
FILE_SECRET = "file-secret-must-not-print"

with TempDir() as d, Ossemu(keys=["ak:sk", "fileak:" + FILE_SECRET], args=["--anonymous"]) as srv:
    small = make_file(os.path.join(d, "small"), 4321, seed=1)
    multi = make_file(os.path.join(d, "multi"), scaled(12 * MiB + 3, 10 * MiB + 3), seed=2)

    env = dict(NOENV, AWS_ACCESS_KEY_ID="ak", AWS_SECRET_ACCESS_KEY="sk")
    for name, path in (("single put", small), ("multipart", multi)):
        key = "s3/env-" + name.replace(" ", "-")
        p, js = cp(srv, path, "bkt", key, "--part-size", "5M", env=env, scheme="s3")
        if check_upload(t, srv, path, "bkt", key, p, js, "s3:// env credentials, " + name,
                        want_verified=None, etag=s3_etag):
            t.ok(js["crc64"] is None or js["crc64"] == file_crc64(path), "s3:// %s: a CRC64 reported is right" % name)

    # S3 parts are at least 5 MiB: a smaller request is raised.
    p, js = cp(srv, multi, "bkt", "s3/raised", "--part-size", "1M", env=env, scheme="s3")
    if check_upload(t, srv, multi, "bkt", "s3/raised", p, js, "s3:// --part-size 1M", want_verified=None,
                    etag=s3_etag):
        t.ok(js["part_size"] >= 5 * MiB, "s3:// part size raised to 5 MiB", js["part_size"])

    # ~/.aws/credentials: a named profile, and the default one.
    home = os.path.join(d, "home")
    os.makedirs(os.path.join(home, ".aws"))
    with open(os.path.join(home, ".aws", "credentials"), "w") as f:
        f.write("# written by test_cli_s3\n[default]\naws_access_key_id = ak\naws_secret_access_key = wrong\n\n"
                "[bench]\naws_access_key_id=fileak\n; a comment\naws_secret_access_key = %s  \n" % FILE_SECRET)
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write("[profile bench]\nregion = eu-west-1\n")
    fenv = dict(NOENV, HOME=home, AWS_PROFILE="bench")
    p, js = cp(srv, small, "bkt", "s3/profile", env=fenv, scheme="s3")
    check_upload(t, srv, small, "bkt", "s3/profile", p, js, "s3:// credentials from ~/.aws/credentials [bench]",
                 want_verified=None, etag=s3_etag)
    p, js = cp(srv, small, "bkt", "s3/default", "--no-resume", env=dict(NOENV, HOME=home), scheme="s3")
    t.ok(p.returncode == 3 and "SignatureDoesNotMatch" in p.stderr and len(p.stderr.splitlines()) == 1,
         "s3:// [default] profile with a wrong secret: exit 3, SignatureDoesNotMatch", p.stderr)
    # The environment wins over the file.
    p, js = cp(srv, small, "bkt", "s3/envwins", env=dict(env, HOME=home), scheme="s3")
    t.eq(p.returncode, 0, "s3:// environment credentials take precedence over the file")
    # A variable pointing elsewhere.
    alt = os.path.join(d, "alt-credentials")
    with open(alt, "w") as f:
        f.write("[default]\naws_access_key_id = fileak\naws_secret_access_key = %s\n" % FILE_SECRET)
    p, js = cp(srv, small, "bkt", "s3/alt", env=dict(NOENV, HOME=home, AWS_SHARED_CREDENTIALS_FILE=alt),
               scheme="s3")
    t.eq(p.returncode, 0, "s3:// AWS_SHARED_CREDENTIALS_FILE")
    p = hoist("cp", small, "s3://bkt/s3/verbose", "--endpoint", srv.url, "--verbose", env=fenv)
    t.ok(p.returncode == 0 and FILE_SECRET not in p.stdout + p.stderr, "s3:// --verbose never prints the secret")

    # Wrong secret in the environment.
    p, js = cp(srv, small, "bkt", "s3/wrong", "--no-resume",
               env=dict(NOENV, AWS_ACCESS_KEY_ID="ak", AWS_SECRET_ACCESS_KEY="bad"), scheme="s3")
    t.ok(p.returncode == 3 and "SignatureDoesNotMatch" in p.stderr and js and js["error_request_id"]
         and js["error_request_id"] in p.stderr, "s3:// wrong secret: exit 3, code and request id", p.stderr)
t.done()
