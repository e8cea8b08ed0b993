"""test_reliability_secrets - the secret key, the session token and the
request signatures never leave hoist except on the wire (issue 5).

ossemu is given an STS key (AK:SK:TOKEN, distinctive strings); hoist talks to
it through a recording proxy (test_reliability_common.RecordingProxy) that
collects every Authorization header, every signature in them and every
security-token header hoist sent.  Then uploads run with --verbose and
--json, successful and failing: multipart (V4 and V1), single PUT, a wrong
secret, a wrong token, an unreachable endpoint, a store that fails and lies
about CRCs, a crash (SIGKILL) and its resume, s3:// with an AWS session
token, and the housekeeping commands.  For every run, stdout and stderr
contain none of: the secret, the wrong secret, the token, the word
"Authorization", any recorded header value or signature.  Every file under
the checkpoint directories (journals, temporaries) contains none of them
either, and is mode 0600 in a directory closed to group and others.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_reliability_common import *  # noqa: E402,F403

t = Tap()
AKID = "STSakid7Q2"
SECRET = "hoistSecret-Zq8vN3kLp0Xw"
WRONG = "hoistWrongSecret-Yt5mR1"
TOKEN = "hoistStsToken-Hb4cJ9sWe2Tf6Ua1"
WRONG_TOKEN = "hoistWrongToken-Kd3sP8"
STS_ENV = {"OSS_ACCESS_KEY_ID": AKID, "OSS_ACCESS_KEY_SECRET": SECRET, "OSS_SESSION_TOKEN": TOKEN}
S3_ENV = {"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN,
          "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""}
FIXED = [SECRET, WRONG, TOKEN, WRONG_TOKEN, "Authorization"]

outputs = []     # (name, text) of every hoist run
proxies = []     # every RecordingProxy, for the signatures they saw
ckdirs = []      # every checkpoint directory used


def run(name, *args, env=STS_ENV, **kw):
    """hoist ARGS with --verbose; records its output for the final scan."""
    p = hoist(*args, "--verbose", env=env, **kw)
    outputs.append((name, p.stdout + "\n" + p.stderr))
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    return p, js


def up(name, target, path, key, *extra, env=STS_ENV, scheme="oss"):
    ck = os.path.join(d, "ck-" + name.replace(" ", "-").replace("/", "-"))
    if ck not in ckdirs:
        ckdirs.append(ck)
    return run(name, "cp", path, "%s://bkt/%s" % (scheme, key), "--endpoint", target.url, "--json",
               "--checkpoint-dir", ck, *extra, env=env), ck


def needles():
    n = set(FIXED)
    for px in proxies:
        n |= px.recorded()
    return n


def check_files(name, dirs, want_some=False):
    paths = [p for dd in dirs for p in files_under(dd)]
    if want_some:
        t.ok(any(p.endswith(".journal") for p in paths), name + ": a journal exists to inspect", paths)
    found = file_leaks(paths, needles())
    t.ok(not found, name + ": no secret, token, Authorization or signature in %d file(s)" % len(paths), found)
    modes = {p: oct(mode_of(p)) for p in paths if mode_of(p) != 0o600}
    t.ok(not modes, name + ": every file is mode 0600", modes)
    open_dirs = {dd: oct(mode_of(dd)) for dd in dirs if os.path.isdir(dd) and mode_of(dd) & 0o077}
    t.ok(not open_dirs, name + ": checkpoint directories closed to group and others", open_dirs)


with TempDir() as d:
    small = make_file(os.path.join(d, "small"), 70000, seed=1)
    multi = make_file(os.path.join(d, "multi"), 3 * MiB + 17, seed=2)
    big = make_file(os.path.join(d, "big"), 16 * MiB, seed=3)

    with Ossemu(keys=["%s:%s:%s" % (AKID, SECRET, TOKEN)], args=["--anonymous"]) as srv, \
            RecordingProxy(srv.port) as px:
        proxies.append(px)
        # Successful uploads.
        for name, path, extra in (("multipart V4", multi, ["--part-size", "256K"]),
                                  ("multipart V1", multi, ["--part-size", "256K", "--signature", "v1"]),
                                  ("single put", small, [])):
            key = "ok/" + name.replace(" ", "-")
            (p, js), _ = up(name, px, path, key, *extra)
            check_upload(t, srv, path, "bkt", key, p, js, "secrets, " + name)
        t.ok(any(v.startswith("OSS4-HMAC-SHA256") for v in px.recorded())
             and any(v.startswith("OSS " + AKID + ":") for v in px.recorded()) and TOKEN in px.recorded(),
             "the proxy saw V4 and V1 Authorization headers and the token on the wire",
             sorted(px.recorded())[:6])

        # Failing ones: a wrong secret, a wrong token.
        (p, js), _ = up("wrong secret", px, multi, "bad/secret", "--part-size", "256K",
                        env=dict(STS_ENV, OSS_ACCESS_KEY_SECRET=WRONG))
        t.ok(p.returncode == 3 and "SignatureDoesNotMatch" in p.stderr, "wrong secret: exit 3, SignatureDoesNotMatch",
             p.stderr)
        (p, js), _ = up("wrong token", px, multi, "bad/token", "--part-size", "256K",
                        env=dict(STS_ENV, OSS_SESSION_TOKEN=WRONG_TOKEN))
        t.ok(p.returncode == 3 and "InvalidSecurityToken" in p.stderr, "wrong token: exit 3, InvalidSecurityToken",
             p.stderr)

        # s3:// with an AWS session token (SigV4, x-amz-security-token).
        (p, js), _ = up("s3 session token", px, big, "s3/sts", "--part-size", "5M", env=S3_ENV, scheme="s3")
        check_upload(t, srv, big, "bkt", "s3/sts", p, js, "secrets, s3:// with a session token", want_verified=None,
                     etag=s3_etag)
        t.ok(any(v.startswith("AWS4-HMAC-SHA256") for v in px.recorded()), "the proxy saw SigV4 Authorization")

    # An unreachable endpoint.
    class Closed:
        url = "http://127.0.0.1:%d" % closed_port()
    (p, js), _ = up("unreachable", Closed, multi, "x", "--part-size", "256K", "--retries", "1",
                    "--connect-timeout", "2")
    t.ok(p.returncode == 3 and js is not None, "unreachable endpoint: exit 3 with JSON", p.stderr)

    # A store that fails and lies about every part's CRC64: retries logged
    # by --verbose, exit 4, the journal kept (then inspected below).
    with Ossemu(keys=["%s:%s:%s" % (AKID, SECRET, TOKEN)],
                args=["--anonymous", "--fail", "0.2", "--fault", "uploadpart:bad-crc=1", "--seed", "4"]) as srv, \
            RecordingProxy(srv.port) as px:
        proxies.append(px)
        (p, js), ck = up("bad crc", px, multi, "bad/crc", "--part-size", "256K", "--retries", "2")
        # Which part gives up first (on a CRC lie or a 500) depends on timing.
        t.ok(p.returncode in (3, 4) and js is not None and js["status"] in ("E_CHECKSUM", "E_SERVER", "E_THROTTLED"),
             "faulty store: exit 4 or 3", "rc=%s %s" % (p.returncode, p.stderr[-600:]))
        check_files("journal of the CRC failure", [ck], want_some=True)

    # A crash: SIGKILL mid-upload (4 connections at 1 MB/s: about 4 s for
    # the file), the journal inspected, then the resume with --verbose.
    with Ossemu(keys=["%s:%s:%s" % (AKID, SECRET, TOKEN)], args=["--anonymous", "--conn-bandwidth", "1"]) as srv, \
            RecordingProxy(srv.port) as px:
        proxies.append(px)
        ck = os.path.join(d, "ck-crash")
        ckdirs.append(ck)
        args = ("--part-size", "1M", "--jobs", "4", "--checkpoint-dir", ck, "--verbose")
        proc = start_cp(px.url, big, "crash", *args, env=STS_ENV)
        wait_stats(srv, lambda s: stats_sum(s, "uploadpart", lambda c: c == "200") >= 4 or proc.poll() is not None)
        time.sleep(1.1)  # the journal's part records are flushed about once a second
        alive = proc.poll() is None
        proc.kill()
        out, err = proc.communicate()
        outputs.append(("killed upload", out + "\n" + err))
        t.ok(alive, "crash: hoist killed mid-upload")
        check_files("journal after a crash", [ck], want_some=True)
        p, js = run("resume", "cp", big, "oss://bkt/crash", "--endpoint", px.url, "--json", *args[:-1])
        check_upload(t, srv, big, "bkt", "crash", p, js, "secrets, resume after a crash")
        t.ok(js is not None and js["resumed_parts"] > 0, "crash: the rerun resumed parts", brief(js))

    # A kept upload for the housekeeping commands (a store that fails every part).
    with Ossemu(keys=["%s:%s:%s" % (AKID, SECRET, TOKEN)],
                args=["--anonymous", "--fault", "uploadpart:fail=1"]) as srv, RecordingProxy(srv.port) as px:
        proxies.append(px)
        (p, js), ck = up("failing parts", px, multi, "hk", "--part-size", "256K", "--retries", "1")
        t.ok(p.returncode == 3 and js and js["upload_id"], "failing parts: exit 3, upload kept", p.stderr)
        uid = (js or {}).get("upload_id") or "none"
        check_files("journal of a failed upload", [ck], want_some=True)
        for name, args in (("ls-uploads", ["ls-uploads", "oss://bkt", "--json"]),
                           ("ls-parts", ["ls-parts", "oss://bkt/hk", "--upload-id", uid, "--json"]),
                           ("abort", ["abort", "oss://bkt/hk", "--upload-id", uid, "--json"]),
                           ("abort again", ["abort", "oss://bkt/hk", "--upload-id", uid])):
            p, js = run(name, *args, "--endpoint", px.url)
            t.eq(p.returncode, 3 if name == "abort again" else 0, "%s --verbose: exit code" % name)
        p, js = run("ls-uploads wrong secret", "ls-uploads", "oss://bkt", "--endpoint", px.url,
                    env=dict(STS_ENV, OSS_ACCESS_KEY_SECRET=WRONG))
        t.eq(p.returncode, 3, "ls-uploads with a wrong secret: exit 3")

    # The default checkpoint directory ($XDG_CACHE_HOME/hoist), created by hoist.
    cache = os.path.join(d, "xdg")
    with Ossemu(keys=["%s:%s:%s" % (AKID, SECRET, TOKEN)], args=["--fault", "uploadpart:fail=1"]) as srv:
        p, js = run("default checkpoint dir", "cp", multi, "oss://bkt/xdg", "--endpoint", srv.url, "--json",
                    "--part-size", "256K", "--retries", "0", env=dict(STS_ENV, XDG_CACHE_HOME=cache))
        t.eq(p.returncode, 3, "default checkpoint dir: the failing upload exits 3")
        check_files("journal in $XDG_CACHE_HOME/hoist", [os.path.join(cache, "hoist")], want_some=True)

    # ------------------------------------------------------------- the scan
    n = needles()
    sigs = len(n) - len(FIXED)
    t.ok(sigs >= 20, "the proxies recorded %d Authorization values, signatures and tokens" % sigs)
    for name, text in outputs:
        t.eq(leaks(text, n), [], "%s: no secret, token, Authorization or signature in stdout/stderr" % name)
    check_files("all checkpoint directories at the end", [c for c in ckdirs if os.path.isdir(c)])
t.done()
