#!/usr/bin/env python3
"""test_cli_creds_tsan - the credentials refresher racing the event loops,
in the binary under test (the TSan suite runs this one; issue 13).

ossemu --imds with 4 s keys: hoist renews them every 3 s on its
"hoist-creds" thread while two event loops sign parts with them, for an
upload of about 10 s (--conn-bandwidth).  Under ThreadSanitizer any race
between the swap and the signing ends the run; here the upload must also
succeed, with the object's CRC64 equal to crcmod's, and more than two
tokens must have signed it.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_common import *  # noqa: E402,F403

t = Tap()
with TempDir() as d, Ossemu(imds="race-role:4", args=["--conn-bandwidth", "0.5"]) as srv:
    path = make_file(os.path.join(d, "f"), 20 * MiB, seed=9)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OSS_", "ALIBABA_CLOUD_"))}
    env.update(HOME=d, HOIST_ECS_METADATA_ENDPOINT=srv.url)
    p = subprocess.run([HOIST, "cp", path, "oss://bkt/race", "--endpoint", srv.url, "--json",
                        "--part-size", "512K", "--jobs", "4", "--fixed-jobs", "--io-threads", "2",
                        "--checkpoint-dir", os.path.join(d, "ck")],
                       env=env, capture_output=True, text=True, timeout=600)
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = None
    t.ok(p.returncode == 0 and js is not None and js.get("crc64") == file_crc64(path),
         "an upload while its keys are renewed every 3 s: exit 0, CRC64 equals crcmod's",
         "rc=%s\n%s" % (p.returncode, p.stderr[-3000:]))
    t.ok("ThreadSanitizer" not in p.stderr and "Sanitizer" not in p.stderr,
         "no sanitizer report", p.stderr[-3000:])
    st = srv.stats()["sts"]
    t.ok(st["tokens_used"] > 2 and st["expired_rejections"] == 0,
         "more than two tokens signed it, none was refused as expired", st)
t.done()
