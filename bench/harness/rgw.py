"""rgw - a single-node Ceph RADOS Gateway as the harness's server (mode rgw).

Owns: the lifetime of one RGW cluster brought up by tests/rgw/rgw-up.sh in
a directory of the bench work dir (mon, one OSD, radosgw) and taken down by
tests/rgw/rgw-down.sh; the bench bucket on it; the checks and clean-up after
each run (a signed HEAD through boto3, then DELETE and an immediate RGW
garbage-collection pass); the server CPU of a run (utime+stime of every PID
in RGW_PIDS: mon, osd and radosgw, read from /proc).

Why memstore (RGW_OBJECTSTORE default): the OSD keeps objects in RAM, so the
server side is bound by RGW's CPU, not by this VM's virtual disk (bluestore
opens its block file with O_DIRECT: the disk would be measured, and noisily).
Each object is deleted after its run and `radosgw-admin gc process
--include-all` frees its tail at once (RGW's own GC would wait
rgw_gc_obj_min_wait and then hours), so the OSD holds one object at a time.

The same interface as proc.Ossemu where the Runner uses it: url, port,
cpu_seconds(), bytes_in() (None: RGW keeps no such counter), head(), stop(),
plus s3_flags (hoist's S3 options for this server) and after_run().

Threading: single-threaded.  Processes: only the daemons rgw-up.sh started
in our directory, stopped by rgw-down.sh by their PIDs.
"""
import os
import subprocess

from proc import proc_cpu_seconds

REGION = "us-east-1"


def read_env(path):
    """DIR/env of rgw-up.sh: KEY=VALUE lines (values possibly '-quoted)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if "=" not in line or line.startswith("#"):
                continue
            k, v = line.split("=", 1)
            out[k] = v.strip("'\"")
    return out


class Rgw:
    """One RGW cluster the harness brought up; taken down with stop()."""

    def __init__(self, top, work_dir, bucket, name="rgw"):
        self.name = name
        self.top = top
        self.dir = work_dir
        self.up_script = os.path.join(top, "tests", "rgw", "rgw-up.sh")
        self.down_script = os.path.join(top, "tests", "rgw", "rgw-down.sh")
        self.bucket = bucket
        self.s3_flags = ["--path-style", "--region", REGION]
        self._stopped = False
        env = dict(os.environ)
        env.setdefault("RGW_OBJECTSTORE", "memstore")
        self.objectstore = env["RGW_OBJECTSTORE"]
        os.makedirs(work_dir, exist_ok=True)
        try:
            r = subprocess.run(["bash", self.up_script, work_dir], env=env, capture_output=True,
                               text=True, timeout=300)
        except BaseException:  # interrupted or timed out mid bring-up: stop what it started
            self.stop()
            raise
        if r.returncode != 0 or not os.path.exists(os.path.join(work_dir, "env")):
            tail = "\n".join(r.stderr.strip().splitlines()[-8:])
            self.stop()
            raise RuntimeError(f"rgw-up.sh failed (exit {r.returncode}): {tail}")
        self.bringup_log = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("rgw-up:")]
        e = read_env(os.path.join(work_dir, "env"))
        self.url = e["RGW_ENDPOINT"]
        self.port = int(e["RGW_PORT"])
        self.ak = e["RGW_ACCESS_KEY"]
        self.sk = e["RGW_SECRET_KEY"]
        self.pids = [int(p) for p in e["RGW_PIDS"].split()]
        self.conf = os.path.join(work_dir, "ceph.conf")
        try:
            v = subprocess.run(["radosgw", "--version"], capture_output=True, text=True, timeout=20)
            self.version = (v.stdout.strip().splitlines() or [""])[0][:120] or None
        except (OSError, subprocess.SubprocessError):
            self.version = None
        self._s3 = None
        try:
            self.client().create_bucket(Bucket=bucket)
        except Exception:
            self.stop()
            raise

    def client(self):
        """A boto3 S3 client for this RGW (path style, SigV4)."""
        if self._s3 is None:
            import boto3
            from botocore.config import Config
            self._s3 = boto3.client(
                "s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.ak,
                aws_secret_access_key=self.sk,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                              retries={"max_attempts": 2}))
        return self._s3

    def cpu_seconds(self):
        """The cluster's CPU (mon + osd + radosgw): every byte a client sends
        crosses radosgw and lands in the OSD, so both are the server."""
        return sum(proc_cpu_seconds(p) or 0.0 for p in self.pids)

    def rgw_cpu_seconds(self):
        return proc_cpu_seconds(self.pids[-1]) or 0.0

    def bytes_in(self):
        return None

    def head(self, bucket, key):
        """Signed HEAD: (status, lower-cased headers)."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            r = self.client().head_object(Bucket=bucket, Key=key)
            h = {k.lower(): v for k, v in r["ResponseMetadata"]["HTTPHeaders"].items()}
            return r["ResponseMetadata"]["HTTPStatusCode"], h
        except ClientError as e:
            return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0), {}
        except BotoCoreError:
            return None, {}

    def after_run(self, bucket, key):
        """Deletes the object and any multipart upload a failed run left,
        then runs RGW's garbage collection now, so the memstore OSD gives
        the memory back before the next run.  Not timed."""
        s3 = self.client()
        try:
            s3.delete_object(Bucket=bucket, Key=key)
            for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", []):
                s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
        except Exception:  # clean-up must not fail the run
            pass
        subprocess.run(["timeout", "120", "radosgw-admin", "-c", self.conf, "gc", "process",
                        "--include-all"], capture_output=True)

    def stop(self):
        if self._stopped:
            return 0
        self._stopped = True
        r = subprocess.run(["sh", self.down_script, self.dir], capture_output=True, text=True,
                           timeout=120)
        return r.returncode
