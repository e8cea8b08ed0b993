#!/usr/bin/env python3
"""test_cli_creds - where hoist gets its keys for oss://, and STS tokens
that expire during a long upload (issue 13).

- The ECS RAM role (ossemu --imds ROLE:20): an upload slowed with
  --conn-bandwidth so that it outlives its first 20 s token completes
  byte-exact; the server's stats show more than one token signed it, and
  none was refused as expired (hoist renewed ahead of expiry).
- Without a refresher (an STS token from the environment, expiring during
  the upload): exit 3, the line names SecurityTokenExpired and the request
  id, and the multipart upload is kept for resume (journal, ls-uploads).
- A profile whose token expires mid-upload and which another tool renews
  in the file: the refused parts make hoist read the file again and send
  once more; unrenewed, the upload fails without a retry loop.  A wrong
  secret is final at once (no renewal asked).
- Each link alone drives an upload: OSS_* variables, ALIBABA_CLOUD_*
  variables, the INI file with two profiles (default, --profile,
  ALIBABA_CLOUD_PROFILE), the CLI's JSON form ("current"), the metadata
  role (discovered, named by ALIBABA_CLOUD_ECS_METADATA, by an
  ecs_ram_role profile; IMDSv2, IMDSv1 fallback, IMDSv1 disabled, a
  wrong role, ALIBABA_CLOUD_ECS_METADATA_DISABLED), and nothing
  (anonymous).
- Precedence: OSS_* > ALIBABA_CLOUD_* > the file > the metadata role, and
  --profile over the environment; the losing source always holds a wrong
  secret, so only the right order uploads.
- No secret or token from any source (the metadata service's included,
  collected by polling it) appears in any output at --verbose or in any
  journal.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403
from test_reliability_common import files_under, leaks, file_leaks  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from osssign import Client  # noqa: E402

t = Tap()
CREDS = "/latest/meta-data/ram/security-credentials/"
SECRETS = set()          # every secret and token any source held
OUTPUTS = []             # (name, text) of every hoist run
CKDIRS = []


def clean_env(home, **extra):
    """The environment without any credential variable, HOME at home, and
    the metadata service pointed at a closed port unless extra says."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("OSS_", "ALIBABA_CLOUD_", "AWS_", "HOIST_ECS"))}
    e["HOME"] = home
    e["HOIST_ECS_METADATA_ENDPOINT"] = "http://127.0.0.1:%d" % closed_port()
    e.update(extra)
    return e


def run_cp(name, srv, path, key, env, *args, timeout=300):
    ck = os.path.join(d, "ck-" + name.replace(" ", "-").replace("/", "-"))
    CKDIRS.append(ck)
    p = subprocess.run([HOIST, "cp", path, "oss://bkt/" + key, "--endpoint", srv.url, "--json",
                        "--verbose", "--checkpoint-dir", ck, *args],
                       env=env, capture_output=True, text=True, timeout=timeout)
    OUTPUTS.append((name, p.stdout + "\n" + p.stderr))
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    return p, js


def read_back(srv, key, ak="ak", sk="sk"):
    r = Client(srv.url, ak=ak, sk=sk).request("GET", "bkt", key)
    return r.body if r.status == 200 else None


def server_crc(srv, key):
    """The stored object's size and CRC64 as the server reports them."""
    r = Client(srv.url, ak="ak", sk="sk").request("HEAD", "bkt", key)
    return (int(r.header("Content-Length", "-1")), int(r.header("x-oss-hash-crc64ecma", "0"))) \
        if r.status == 200 else (r.status, None)


def uploaded(name, srv, path, key, p, js, source=None, slow_server=False):
    ok = t.ok(p.returncode == 0 and js is not None and js.get("crc64") == file_crc64(path),
              name + ": exit 0, CRC64 equals crcmod's",
              "rc=%s\nstderr: %s" % (p.returncode, p.stderr[-1500:]))
    if slow_server:
        # Reading 24 MiB back at --conn-bandwidth would take a minute: the
        # server's own CRC64 of what it stored, against crcmod's.
        ok &= t.eq(server_crc(srv, key), (os.path.getsize(path), file_crc64(path)),
                   name + ": the stored object's size and server CRC64 equal the file's")
    else:
        with open(path, "rb") as f:
            want = f.read()
        ok &= t.ok(read_back(srv, key) == want, name + ": the object read back equals the file")
    if source is not None:
        ok &= t.ok("* credentials: " + source in p.stderr,
                   name + ": --verbose names the source: " + source, p.stderr[:600])
    return ok


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def raw_get(srv, path):
    with urllib.request.urlopen(srv.url + path, timeout=10) as r:
        return r.read()


class ImdsWatcher:
    """Polls the metadata service every 0.3 s and keeps every secret and
    token it hands out (each set is current for half its life, seconds at
    least, so every set hoist saw is seen here too)."""

    def __init__(self, srv, role):
        self.srv, self.role, self.stop = srv, role, threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while not self.stop.is_set():
            try:
                doc = json.loads(raw_get(self.srv, CREDS + self.role))
                SECRETS.update({doc["AccessKeySecret"], doc["SecurityToken"]})
            except Exception:  # noqa: BLE001 - a missed poll is retried
                pass
            self.stop.wait(0.3)

    def close(self):
        self.stop.set()
        self.th.join()


with TempDir() as d:
    home = os.path.join(d, "home")
    os.makedirs(home)
    small = make_file(os.path.join(d, "small"), 300000, seed=3)
    multi = make_file(os.path.join(d, "multi"), 3 * MiB + 5, seed=4)
    inifile = os.path.join(home, ".alibabacloud", "credentials")
    SECRETS.update({"sk", "s-ali", "s-ini-default", "s-ini-other", "s-json", "tok-ali", "tok-other",
                    "BADSECRET-x9", "tok-a-4711", "tok-b-4712", "sec-a-4711", "sec-b-4712"})

    # ---- 1. the metadata role, through a long upload -------------------------------------------------
    # 24 MiB at 2 x 0.4 MB/s: about 30 s, also under the sanitizers (the
    # link is the limit), past the first token's 20 s and its renewal at 15.
    size = 24 * MiB
    big = make_file(os.path.join(d, "big"), size, seed=5)
    mid = make_file(os.path.join(d, "mid"), 8 * MiB, seed=6)
    with Ossemu(imds="hoist-role:20", args=["--conn-bandwidth", "0.4"]) as srv:
        w = ImdsWatcher(srv, "hoist-role")
        env = clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url)
        t0 = time.time()
        p, js = run_cp("imds long", srv, big, "long", env, "--part-size", "1M", "--jobs", "2",
                       "--fixed-jobs", timeout=600)
        took = time.time() - t0
        w.close()
        uploaded("metadata role, %d MiB at 2 x 0.4 MB/s" % (size // MiB), srv, big, "long", p, js,
                 "ECS RAM role 'hoist-role' from " + srv.url, slow_server=True)
        st = srv.stats()["sts"]
        t.ok(took > 21, "the upload outlived the first token's 20 s (%.1f s)" % took)
        t.ok(st["tokens_used"] >= 2 and st["imds_issued"] >= 2,
             "the server's stats: requests signed with more than one token", st)
        t.eq(st["expired_rejections"], 0, "renewed ahead of expiry: no request refused as expired")
        t.ok("credentials: new keys from the provider" in p.stderr,
             "--verbose logs each renewal", p.stderr[-800:])
        t.ok(len(SECRETS) > 14, "the watcher saw the metadata service's secrets and tokens")

    # ---- 2. no refresher: an STS token from the environment expires mid-upload -----------------------
    exp = int(time.time()) + 4
    with Ossemu(keys=["ak:sk", "STS.envak:sec-a-4711:tok-a-4711:%d" % exp],
                args=["--conn-bandwidth", "0.4"]) as srv:
        env = clean_env(home, OSS_ACCESS_KEY_ID="STS.envak", OSS_ACCESS_KEY_SECRET="sec-a-4711",
                        OSS_SESSION_TOKEN="tok-a-4711")
        p, js = run_cp("static expiring", srv, mid, "static", env, "--part-size", "1M", "--jobs", "2",
                       "--fixed-jobs")
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        t.eq(p.returncode, 3, "a static token that expires: exit 3")
        t.ok("SecurityTokenExpired" in last and "request id " in last and
             "kept for resume" in last,
             "the line names SecurityTokenExpired, the request id, and the upload kept", last)
        t.ok("renewing" not in p.stderr and "no credentials provider" in p.stderr,
             "no renewal attempted without a provider, and --verbose says why", p.stderr[-600:])
        jr = [f for f in files_under(CKDIRS[-1]) if f.endswith(".journal")]
        t.eq(len(jr), 1, "the journal is kept for resume")
        t.eq(srv.stats().get("uploads"), 1, "the multipart upload is still on the server")
        t.ok(srv.stats()["sts"]["expired_rejections"] <= 4,
             "refused parts are not retried (at most one per part in flight and Complete)",
             srv.stats()["sts"])

    # ---- 3. a profile token renewed in the file during the upload ------------------------------------
    exp = int(time.time()) + 5
    with Ossemu(keys=["ak:sk", "STS.a:sec-a-4711:tok-a-4711:%d" % exp, "STS.b:sec-b-4712:tok-b-4712"],
                args=["--conn-bandwidth", "0.4"]) as srv:
        write(inifile, "[default]\ntype = sts\naccess_key_id = STS.a\naccess_key_secret = sec-a-4711\n"
              "security_token = tok-a-4711\n")
        env = clean_env(home)
        cmd = [HOIST, "cp", mid, "oss://bkt/renewed", "--endpoint", srv.url, "--json", "--verbose",
               "--checkpoint-dir", os.path.join(d, "ck-renew"), "--part-size", "1M", "--jobs", "2",
               "--fixed-jobs"]
        CKDIRS.append(os.path.join(d, "ck-renew"))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        write(inifile, "[default]\ntype = sts\naccess_key_id = STS.b\naccess_key_secret = sec-b-4712\n"
              "security_token = tok-b-4712\n")
        out, err = proc.communicate(timeout=600)
        OUTPUTS.append(("renewed in file", out + "\n" + err))
        try:
            js = json.loads(out)
        except ValueError:
            js = None
        p = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        uploaded("token renewed in the file", srv, mid, "renewed", p, js,
                 "profile 'default' (sts, with a session token, read again if it expires)",
                 slow_server=True)
        st = srv.stats()["sts"]
        t.ok(st["expired_rejections"] >= 1 and st["tokens_used"] == 2,
             "parts were refused as expired, then signed with the renewed token", st)
        t.ok("the session token expired (request id " in err and "new keys from the provider" in err,
             "--verbose: the refusal (with its request id) and the renewal", err[-1500:])

    def renewed_midway(name, srv, cmd, path, new_text, env):
        """Runs cmd; 2 s in, the credentials file gets new_text (another
        tool renewing the token).  Returns (CompletedProcess, JSON)."""
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2)
        write(path, new_text)
        out, err = proc.communicate(timeout=600)
        OUTPUTS.append((name, out + "\n" + err))
        try:
            js = json.loads(out)
        except ValueError:
            js = None
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err), js

    # A download (ranged GETs through the part pipeline, and its HEAD).
    data = os.path.join(d, "dl-data")
    os.makedirs(data)
    with Ossemu(keys=["ak:sk"], data_dir=data) as srv:
        p, js = run_cp("seed", srv, mid, "dl-src", clean_env(home, OSS_ACCESS_KEY_ID="ak",
                                                           OSS_ACCESS_KEY_SECRET="sk"))
        t.eq(p.returncode, 0, "download: the object to fetch is stored")
    exp = int(time.time()) + 4
    with Ossemu(keys=["ak:sk", "STS.a:sec-a-4711:tok-a-4711:%d" % exp, "STS.b:sec-b-4712:tok-b-4712"],
                data_dir=data, args=["--conn-bandwidth", "0.4"]) as srv:
        write(inifile, "[default]\ntype = sts\naccess_key_id = STS.a\naccess_key_secret = sec-a-4711\n"
              "security_token = tok-a-4711\n")
        out_path = os.path.join(d, "dl-out")
        cmd = [HOIST, "cp", "oss://bkt/dl-src", out_path, "--endpoint", srv.url, "--json", "--verbose",
               "--part-size", "1M", "--jobs", "2", "--fixed-jobs"]
        p, js = renewed_midway("download renewed", srv, cmd, inifile,
                               "[default]\ntype = sts\naccess_key_id = STS.b\n"
                               "access_key_secret = sec-b-4712\nsecurity_token = tok-b-4712\n",
                               clean_env(home))
        same = False
        if os.path.exists(out_path):
            with open(mid, "rb") as a, open(out_path, "rb") as b:
                same = a.read() == b.read()
        st = srv.stats()["sts"]
        t.ok(p.returncode == 0 and same, "a download whose token expires midway: exit 0, the file equals "
             "the object", "rc=%s %s" % (p.returncode, p.stderr[-800:]))
        t.ok(st["expired_rejections"] >= 1 and "the session token expired (request id " in p.stderr,
             "... through refused GETs, renewed from the file and sent once more", st)

    # s3://: the AWS shared credentials file, its session token renewed the same way.
    exp = int(time.time()) + 4
    awsfile = os.path.join(home, ".aws", "credentials")
    with Ossemu(keys=["ak:sk", "ASIAa:sec-a-4711:tok-a-4711:%d" % exp, "ASIAb:sec-b-4712:tok-b-4712"],
                args=["--conn-bandwidth", "0.4"]) as srv:
        write(awsfile, "[default]\naws_access_key_id = ASIAa\naws_secret_access_key = sec-a-4711\n"
              "aws_session_token = tok-a-4711\n")
        cmd = [HOIST, "cp", mid, "s3://bkt/s3-renewed", "--endpoint", srv.url, "--json", "--verbose",
               "--checkpoint-dir", os.path.join(d, "ck-s3"), "--part-size", "5M", "--jobs", "2",
               "--fixed-jobs"]
        CKDIRS.append(os.path.join(d, "ck-s3"))
        p, js = renewed_midway("s3 renewed", srv, cmd, awsfile,
                               "[default]\naws_access_key_id = ASIAb\naws_secret_access_key = sec-b-4712\n"
                               "aws_session_token = tok-b-4712\n", clean_env(home, AWS_REGION="us-east-1"))
        st = srv.stats()["sts"]
        t.ok(p.returncode == 0 and js is not None and js.get("crc64") == file_crc64(mid),
             "s3://, a session token renewed in ~/.aws/credentials midway: exit 0, CRC64 right",
             "rc=%s %s" % (p.returncode, p.stderr[-800:]))
        t.ok(st["expired_rejections"] >= 1 and "the session token expired (request id " in p.stderr,
             "... through 400 ExpiredToken refusals, sent once more with the new token", st)
        t.eq(server_crc(srv, "s3-renewed")[0], os.path.getsize(mid), "... and the object is stored")
    os.unlink(awsfile)

    exp = int(time.time()) + 4
    with Ossemu(keys=["ak:sk", "STS.a:sec-a-4711:tok-a-4711:%d" % exp],
                args=["--conn-bandwidth", "0.4"]) as srv:
        write(inifile, "[default]\ntype = sts\naccess_key_id = STS.a\naccess_key_secret = sec-a-4711\n"
              "security_token = tok-a-4711\n")
        p, js = run_cp("not renewed", srv, mid, "stale", clean_env(home), "--part-size", "1M",
                       "--jobs", "2", "--fixed-jobs")
        st = srv.stats()["sts"]
        t.ok(p.returncode == 3 and "SecurityTokenExpired" in p.stderr.strip().splitlines()[-1],
             "the file not renewed: exit 3, SecurityTokenExpired", p.stderr[-600:])
        t.ok(st["expired_rejections"] <= 8,
             "each refused request is sent once more at most: no retry loop (%d refusals)"
             % st["expired_rejections"])

    # A wrong secret is final: nothing is renewed, nothing re-sent.
    with Ossemu(keys=["ak:sk"]) as srv:
        write(inifile, "[default]\ntype = access_key\naccess_key_id = ak\naccess_key_secret = BADSECRET-x9\n")
        p, js = run_cp("wrong secret", srv, small, "wrong", clean_env(home))
        t.ok(p.returncode == 3 and "SignatureDoesNotMatch" in p.stderr and "renewing" not in p.stderr,
             "a wrong secret from the file: exit 3 SignatureDoesNotMatch, no renewal", p.stderr[-400:])
        reqs = srv.stats()["requests"]
        n = sum(sum(v.values()) for k, v in reqs.items() if k != "stats")
        t.eq(n, 1, "one request only (a wrong secret is not retried)")
    os.unlink(inifile)

    # ---- 4. each link alone --------------------------------------------------------------------------
    with Ossemu(keys=["ak:sk", "ak-ali:s-ali:tok-ali", "ak-ini:s-ini-default", "ak-other:s-ini-other:tok-other",
                      "ak-json:s-json"], imds="r1:3600") as srv:
        w = ImdsWatcher(srv, "r1")
        p, js = run_cp("OSS_*", srv, small, "oss-env", clean_env(home, OSS_ACCESS_KEY_ID="ak",
                                                                OSS_ACCESS_KEY_SECRET="sk"))
        uploaded("OSS_* variables", srv, small, "oss-env", p, js,
                 "environment (OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET)")
        p, js = run_cp("ALIBABA_CLOUD_*", srv, small, "ali-env", clean_env(
            home, ALIBABA_CLOUD_ACCESS_KEY_ID="ak-ali", ALIBABA_CLOUD_ACCESS_KEY_SECRET="s-ali",
            ALIBABA_CLOUD_SECURITY_TOKEN="tok-ali"))
        uploaded("ALIBABA_CLOUD_* variables with a token", srv, small, "ali-env", p, js,
                 "environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
                 "ALIBABA_CLOUD_SECURITY_TOKEN)")
        p, js = run_cp("half", srv, small, "half", clean_env(home, ALIBABA_CLOUD_ACCESS_KEY_ID="ak-ali"))
        t.ok(p.returncode == 2 and "ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET"
             in p.stderr, "half an ALIBABA_CLOUD_* pair: exit 2 naming both", p.stderr)

        # The INI file with two profiles.
        write(inifile, "# two profiles\n[default]\ntype = access_key\naccess_key_id = ak-ini\n"
              "access_key_secret = s-ini-default\n\n[other]\ntype = sts\naccess_key_id = ak-other\n"
              "access_key_secret = s-ini-other\nsecurity_token = tok-other\n")
        p, js = run_cp("ini default", srv, multi, "ini-default", clean_env(home), "--part-size", "1M")
        uploaded("INI file, profile default", srv, multi, "ini-default", p, js,
                 "profile 'default' (access_key) of " + inifile)
        p, js = run_cp("ini --profile", srv, multi, "ini-other", clean_env(home), "--profile", "other",
                       "--part-size", "1M")
        uploaded("INI file, --profile other (sts)", srv, multi, "ini-other", p, js,
                 "profile 'other' (sts, with a session token")
        p, js = run_cp("ini env profile", srv, small, "ini-env", clean_env(home, ALIBABA_CLOUD_PROFILE="other"))
        uploaded("INI file, ALIBABA_CLOUD_PROFILE=other", srv, small, "ini-env", p, js, "profile 'other'")
        p, js = run_cp("ini missing", srv, small, "x", clean_env(home), "--profile", "nope")
        t.ok(p.returncode == 2 and "--profile names profile 'nope', which is not in " + inifile in p.stderr,
             "--profile naming a missing profile: exit 2, one line naming it and the file", p.stderr)
        p, js = run_cp("ini env missing", srv, small, "x", clean_env(home, ALIBABA_CLOUD_PROFILE="nope"))
        t.ok(p.returncode == 2 and "ALIBABA_CLOUD_PROFILE names profile 'nope'" in p.stderr,
             "ALIBABA_CLOUD_PROFILE naming a missing profile: exit 2", p.stderr)
        write(inifile, "[default]\ntype = ram_role_arn\naccess_key_id = ak-ini\naccess_key_secret = s-ini-default\n")
        p, js = run_cp("ini unsupported", srv, small, "x", clean_env(home))
        t.ok(p.returncode == 2 and "type 'ram_role_arn' is not supported" in p.stderr,
             "an unsupported profile type: exit 2 naming it", p.stderr)

        # The CLI's JSON form, at ALIBABA_CLOUD_CREDENTIALS_FILE, with "current".
        jfile = os.path.join(d, "config.json")
        write(jfile, json.dumps({"current": "second", "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "ak", "access_key_secret": "BADSECRET-x9"},
            {"name": "second", "mode": "AK", "access_key_id": "ak-json", "access_key_secret": "s-json"},
            {"name": "sts", "mode": "StsToken", "access_key_id": "ak-ali", "access_key_secret": "s-ali",
             "sts_token": "tok-ali"}]}, indent=2))
        p, js = run_cp("json current", srv, small, "json-current", clean_env(
            home, ALIBABA_CLOUD_CREDENTIALS_FILE=jfile))
        uploaded("JSON file, its current profile", srv, small, "json-current", p, js,
                 "profile 'second' (AK) of " + jfile)
        p, js = run_cp("json --profile", srv, small, "json-sts", clean_env(
            home, ALIBABA_CLOUD_CREDENTIALS_FILE=jfile), "--profile", "sts")
        uploaded("JSON file, --profile sts (StsToken)", srv, small, "json-sts", p, js, "profile 'sts' (StsToken")
        write(jfile, "{ not json")
        p, js = run_cp("json bad", srv, small, "x", clean_env(home, ALIBABA_CLOUD_CREDENTIALS_FILE=jfile))
        t.ok(p.returncode == 2 and "credentials file " + jfile in p.stderr and "not valid JSON" in p.stderr,
             "a broken JSON file: exit 2 naming the file", p.stderr)
        os.unlink(inifile)

        # The metadata role: discovered, named, from a profile.
        imds = clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url)
        p, js = run_cp("imds discovered", srv, multi, "imds-disc", imds, "--part-size", "1M")
        uploaded("metadata role, discovered", srv, multi, "imds-disc", p, js,
                 "ECS RAM role 'r1' from %s, renewed before expiry (IMDSv2 token)" % srv.url)
        p, js = run_cp("imds named", srv, small, "imds-named", dict(imds, ALIBABA_CLOUD_ECS_METADATA="r1"))
        uploaded("metadata role named by ALIBABA_CLOUD_ECS_METADATA", srv, small, "imds-named", p, js,
                 "ECS RAM role 'r1' from %s (ALIBABA_CLOUD_ECS_METADATA)" % srv.url)
        p, js = run_cp("imds wrong role", srv, small, "x", dict(imds, ALIBABA_CLOUD_ECS_METADATA="r2"))
        t.ok(p.returncode == 3 and "ECS metadata service %s: role 'r2': HTTP 404" % srv.url in p.stderr,
             "a role the instance does not have: exit 3, the line names the service, role and 404",
             p.stderr)
        write(inifile, "[ecs]\ntype = ecs_ram_role\nrole_name = r1\n")
        p, js = run_cp("imds profile", srv, small, "imds-prof", imds, "--profile", "ecs")
        uploaded("metadata role from an ecs_ram_role profile", srv, small, "imds-prof", p, js,
                 "ECS RAM role 'r1' from %s (profile 'ecs' of %s)" % (srv.url, inifile))
        os.unlink(inifile)
        p, js = run_cp("imds disabled", srv, small, "x", dict(imds, ALIBABA_CLOUD_ECS_METADATA_DISABLED="true"))
        t.ok(p.returncode == 3 and "AccessDenied" in p.stderr and
             "requests are anonymous (ECS metadata disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED)" in p.stderr,
             "ALIBABA_CLOUD_ECS_METADATA_DISABLED: no metadata, anonymous (refused)", p.stderr[-500:])
        p, js = run_cp("nothing", srv, small, "x", clean_env(home))
        t.ok(p.returncode == 3 and "AccessDenied" in p.stderr and
             "* credentials: none found, requests are anonymous (ECS metadata service" in p.stderr,
             "no source at all: anonymous requests, --verbose says why", p.stderr[-500:])
        w.close()

    with Ossemu(imds="r1:3600", imds_mode="v1") as srv:
        w = ImdsWatcher(srv, "r1")
        imds = clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url)
        p, js = run_cp("imds v1", srv, small, "v1", imds)
        uploaded("an old metadata service (no token service): IMDSv1", srv, small, "v1", p, js, "ECS RAM role")
        t.ok("(IMDSv1, no token)" in p.stderr, "--verbose says IMDSv1 was used", p.stderr[:400])
        p, js = run_cp("imds v1 disabled", srv, small, "x", dict(imds, ALIBABA_CLOUD_IMDSV1_DISABLED="true"))
        t.ok(p.returncode != 0 and "anonymous" in p.stderr and "IMDSv1 is disabled" in p.stderr,
             "ALIBABA_CLOUD_IMDSV1_DISABLED without a token service: not used", p.stderr[-500:])
        p, js = run_cp("imds v1 disabled named", srv, small, "x",
                       dict(imds, ALIBABA_CLOUD_IMDSV1_DISABLED="true", ALIBABA_CLOUD_ECS_METADATA="r1"))
        t.ok(p.returncode == 3 and "IMDSv1 is disabled (ALIBABA_CLOUD_IMDSV1_DISABLED)" in p.stderr,
             "... and with the role named: exit 3 naming why", p.stderr[-400:])
        w.close()

    with Ossemu(imds="r1:3600", imds_mode="v2") as srv:
        w = ImdsWatcher(srv, "r1")
        p, js = run_cp("imds v2", srv, small, "v2", clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url))
        uploaded("security hardening mode (token required): IMDSv2", srv, small, "v2", p, js,
                 "ECS RAM role 'r1' from %s, renewed before expiry (IMDSv2 token)" % srv.url)
        w.close()

    # ---- 5. precedence ------------------------------------------------------------------------------
    with Ossemu(keys=["ak:sk", "ak-ali:s-ali", "ak-ini:s-ini-default"], imds="r1:3600") as srv:
        w = ImdsWatcher(srv, "r1")
        bad_ali = dict(ALIBABA_CLOUD_ACCESS_KEY_ID="ak-ali", ALIBABA_CLOUD_ACCESS_KEY_SECRET="BADSECRET-x9")
        p, js = run_cp("oss over ali", srv, small, "p1", clean_env(
            home, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="sk", **bad_ali))
        uploaded("OSS_* over ALIBABA_CLOUD_* (which is wrong)", srv, small, "p1", p, js,
                 "environment (OSS_ACCESS_KEY_ID")
        write(inifile, "[default]\naccess_key_id = ak-ini\naccess_key_secret = BADSECRET-x9\n"
              "[good]\naccess_key_id = ak-ini\naccess_key_secret = s-ini-default\n")
        p, js = run_cp("ali over file", srv, small, "p2", clean_env(
            home, ALIBABA_CLOUD_ACCESS_KEY_ID="ak-ali", ALIBABA_CLOUD_ACCESS_KEY_SECRET="s-ali"))
        uploaded("ALIBABA_CLOUD_* over the file (which is wrong)", srv, small, "p2", p, js,
                 "environment (ALIBABA_CLOUD_ACCESS_KEY_ID")
        p, js = run_cp("profile over env", srv, small, "p3", clean_env(
            home, OSS_ACCESS_KEY_ID="ak", OSS_ACCESS_KEY_SECRET="BADSECRET-x9"), "--profile", "good")
        uploaded("--profile over the environment (which is wrong)", srv, small, "p3", p, js, "profile 'good'")
        issued = srv.stats()["sts"]["imds_issued"]
        write(inifile, "[default]\naccess_key_id = ak-ini\naccess_key_secret = s-ini-default\n")
        p, js = run_cp("file over imds", srv, small, "p4", clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url))
        uploaded("the file over the metadata role", srv, small, "p4", p, js, "profile 'default'")
        reqs = srv.stats()["requests"].get("imds", {})
        t.eq(srv.stats()["sts"]["imds_issued"], issued, "... which was not asked for keys")
        os.unlink(inifile)
        p, js = run_cp("imds last", srv, small, "p5", clean_env(home, HOIST_ECS_METADATA_ENDPOINT=srv.url))
        uploaded("with nothing else, the metadata role", srv, small, "p5", p, js, "ECS RAM role 'r1'")
        w.close()

    # ---- 6. no secret in any output or journal -------------------------------------------------------
    needles = {s for s in SECRETS if s and len(s) >= 2 and s not in ("sk",)} | {"Authorization"}
    found = {name: leaks(text, needles) for name, text in OUTPUTS if leaks(text, needles)}
    t.ok(not found, "no secret or token in the output of %d runs at --verbose (%d needles)"
         % (len(OUTPUTS), len(needles)), found)
    paths = [f for ck in CKDIRS for f in files_under(ck)]
    fl = file_leaks(paths, needles)
    t.ok(not fl and any(p_.endswith(".journal") for p_ in paths),
         "no secret or token in %d journal file(s)" % len(paths), fl)
t.done()
