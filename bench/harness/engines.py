"""engines - how each uploader is started, and what it reports.

Owns: the command line and environment of every engine the harness runs
(hoist in the OSS dialect and, when the CLI supports it, the S3 dialect; the
transport ceiling of N parallel curls; the peers aws-c-s3, aws-cli, rclone
and ali-oss), whether each is available on this machine and why not, and
reading each one's own report from its stdout.

Every engine uploads the same file, with the same part size and (where the
engine has the knob) the same concurrency, to the same ossemu --discard.
What each one computes per byte differs, and is recorded in "checksum":
  hoist          crc64 (CRC64 per part, verified) or both (CRC64 + MD5,
                 Content-MD5 sent); signed OSS V4 without payload hashing
  curl-ceiling   nothing: unsigned PUTs of part files (ossemu --anonymous)
  aws-c-s3       nothing (0.16 has no checksum option); UNSIGNED-PAYLOAD;
                 always 10 connections (no knob), always port 80
  aws-cli        SHA-256 of every payload byte (SigV4 over plain HTTP)
  rclone         its default: a whole-file MD5 pre-pass (stored as metadata)
                 before the first part; "rclone-nocksum" skips that pass
  ali-oss        its default multipartUpload (no CRC64 check)
"""
import os
import shutil
import subprocess

BUCKET = "bench"


def size_arg(n):
    """A part size as hoist's CLI takes it: 8MiB, 512KiB or bytes."""
    if n % (1 << 20) == 0:
        return f"{n >> 20}MiB"
    if n % 1024 == 0:
        return f"{n >> 10}KiB"
    return str(n)


class Engine:
    name = "?"
    dialect = "oss"
    checksum_label = "default"
    fixed_jobs = None           # an engine without a concurrency knob
    needs_port80 = False
    makes_object = True         # False: the run leaves no object to HEAD

    def available(self, ctx):
        return True, ""

    def checksum(self, cfg):
        return self.checksum_label

    def jobs(self, cfg):
        return self.fixed_jobs if self.fixed_jobs is not None else cfg["jobs"]

    def command(self, ctx, cfg, path, key, server):
        raise NotImplementedError

    def parse(self, stdout):
        """Engine-reported figures (JSON on stdout) for results.json."""
        from proc import last_json_line
        j = last_json_line(stdout)
        return {"reported": j} if j else {}


class Hoist(Engine):
    name = "hoist"
    dialect = "oss"

    def __init__(self, dialect="oss"):
        self.dialect = dialect
        if dialect == "s3":
            self.name = "hoist-s3"

    def available(self, ctx):
        if not os.access(ctx.hoist, os.X_OK):
            return False, "build/hoist is missing (run make)"
        if self.dialect == "s3" and not ctx.hoist_s3_ok:
            return False, ctx.hoist_s3_note or "hoist cp to s3:// did not work"
        return True, ""

    def checksum(self, cfg):
        return cfg["checksum"]

    def command(self, ctx, cfg, path, key, server):
        scheme = "s3" if self.dialect == "s3" else "oss"
        argv = [ctx.hoist, "cp", path, f"{scheme}://{BUCKET}/{key}",
                "--endpoint", server.url, "--part-size", size_arg(cfg["part_size"]),
                "--jobs", str(cfg["jobs"]), "--checksum", cfg["checksum"], "--json", "--quiet",
                # --verbose adds the per-part list (with each part's seconds) to
                # the JSON, for the latency CDF; journals go to the work directory,
                # never the user's ~/.cache.
                "--verbose", "--checkpoint-dir", os.path.join(ctx.work, "journal")]
        if self.dialect == "s3":
            # A real S3 server (RGW) needs path style and the signing region.
            argv += getattr(server, "s3_flags", [])
            return argv, ctx.env_both()
        return argv, ctx.env_oss()

    def parse(self, stdout):
        from proc import last_json_line
        j = last_json_line(stdout)
        if not j:
            return {}
        r = {"reported": {k: v for k, v in j.items() if not isinstance(v, (list, dict))}}
        for src, dst in (("seconds", "engine_seconds"), ("ttfb", "ttfb_s"),
                         ("ttfb_seconds", "ttfb_s"), ("part_p50", "part_p50_s"),
                         ("part_p50_seconds", "part_p50_s"), ("part_p99", "part_p99_s"),
                         ("part_p99_seconds", "part_p99_s"), ("retries", "retries"),
                         ("bytes_sent", "bytes_sent"), ("crc64", "crc64"), ("parts", "parts"),
                         ("resumed_parts", "resumed_parts"), ("status", "hoist_status")):
            if src in j and dst not in r:
                r[dst] = j[src]
        lat = part_latencies(j)
        if lat:
            r["part_latencies_s"] = lat
        return r


def part_latencies(j):
    """Per-part latencies if hoist's --json carries them (several spellings
    are accepted, so the harness follows the CLI as it grows)."""
    for k in ("part_latencies", "part_seconds", "part_latency_seconds"):
        v = j.get(k)
        if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
            return [float(x) for x in v]
    parts = j.get("part_list", j.get("parts"))
    if isinstance(parts, list):
        out = []
        for p in parts:
            if isinstance(p, dict):
                for k in ("seconds", "latency", "latency_seconds"):
                    if isinstance(p.get(k), (int, float)):
                        out.append(float(p[k]))
                        break
        return out or None
    return None


class CurlCeiling(Engine):
    name = "curl-ceiling"
    dialect = "anonymous"
    checksum_label = "none"
    makes_object = False

    def available(self, ctx):
        if not shutil.which("curl"):
            return False, "curl is not installed"
        return True, ""

    def command(self, ctx, cfg, path, key, server):
        parts = ctx.part_files(path, cfg["part_size"])
        argv = ["sh", os.path.join(ctx.peers, "curl-parts.sh"), server.url, BUCKET, key,
                str(cfg["jobs"])] + parts
        return argv, ctx.env_base()


class Crt(Engine):
    name = "aws-c-s3"
    dialect = "s3"
    checksum_label = "none"
    fixed_jobs = 10
    needs_port80 = True

    def available(self, ctx):
        r = subprocess.run(["/usr/bin/python3", "-c", "import awscrt.s3"], capture_output=True)
        if r.returncode != 0:
            return False, "python3-awscrt is not installed for /usr/bin/python3"
        if ctx.server80_note:
            return False, ctx.server80_note
        return True, ""

    def command(self, ctx, cfg, path, key, server):
        argv = ["/usr/bin/python3", os.path.join(ctx.peers, "crt-upload.py"), path,
                f"s3://{BUCKET}/{key}", "--host", "127.0.0.1", "--part-size", str(cfg["part_size"])]
        return argv, ctx.env_s3()


class AwsCli(Engine):
    name = "aws-cli"
    dialect = "s3"
    checksum_label = "sha256"

    def available(self, ctx):
        if not os.access("/usr/bin/aws", os.X_OK):
            return False, "/usr/bin/aws (Debian awscli) is not installed"
        return True, ""

    def command(self, ctx, cfg, path, key, server):
        argv = ["sh", os.path.join(ctx.peers, "awscli-upload.sh"), path, f"s3://{BUCKET}/{key}",
                server.url, str(cfg["jobs"]), str(cfg["part_size"])]
        return argv, ctx.env_s3()


class Rclone(Engine):
    dialect = "s3"

    def __init__(self, disable_checksum=False):
        self.disable_checksum = disable_checksum
        self.name = "rclone-nocksum" if disable_checksum else "rclone"
        self.checksum_label = "none" if disable_checksum else "md5-prepass"

    def available(self, ctx):
        if not shutil.which("rclone"):
            return False, "rclone is not installed"
        return True, ""

    def command(self, ctx, cfg, path, key, server):
        argv = ["sh", os.path.join(ctx.peers, "rclone-upload.sh"), path, f"{BUCKET}/{key}",
                server.url, str(cfg["jobs"]), f"{cfg['part_size'] // 1024}K"]
        if self.disable_checksum:
            argv.append("--s3-disable-checksum")
        return argv, ctx.env_s3()


class AliOss(Engine):
    name = "ali-oss"
    dialect = "oss"

    def available(self, ctx):
        if not shutil.which("node"):
            return False, "node is not installed"
        if not os.path.exists(os.path.join(ctx.node_path, "ali-oss", "package.json")):
            return False, "ali-oss is not installed in build/node (run sh tests/deps.sh)"
        return True, ""

    def command(self, ctx, cfg, path, key, server):
        argv = ["node", os.path.join(ctx.peers, "alioss-upload.js"), path, f"oss://{BUCKET}/{key}",
                server.url, str(cfg["jobs"]), str(cfg["part_size"])]
        env = ctx.env_oss()
        env["NODE_PATH"] = ctx.node_path
        return argv, env


class HoistFixed(Hoist):
    """hoist with --fixed-jobs: exactly --jobs parts in flight, the yardstick
    the adaptive default is measured against (issue 9's bars)."""
    name = "hoist-fixed"

    def __init__(self):
        super().__init__("oss")
        self.name = "hoist-fixed"

    def command(self, ctx, cfg, path, key, server):
        argv, env = super().command(ctx, cfg, path, key, server)
        return argv + ["--fixed-jobs"], env


ALL = [Hoist("oss"), Hoist("s3"), HoistFixed(), CurlCeiling(), Crt(), AwsCli(), Rclone(False), Rclone(True), AliOss()]
BY_NAME = {e.name: e for e in ALL}
PEERS = ["aws-c-s3", "aws-cli", "rclone", "rclone-nocksum", "ali-oss"]
