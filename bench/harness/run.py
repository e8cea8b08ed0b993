#!/usr/bin/python3
"""run - the benchmark harness: hoist beside its peers and the ceilings.

usage: /usr/bin/python3 bench/harness/run.py smoke|quick|full
           [--out DIR] [--engines a,b,...] [--keep-files] [--budget SECONDS]

Owns the order of a run: host facts, test files, the hashing and loopback
ceilings, then per network profile (LAN, WAN) one ossemu --discard (plus a
second one on 127.0.0.1:80 for aws-c-s3 when port 80 can be bound), every
group of the plan in alternation, the cold-cache run, and finally the
results directory (results.json, results.csv, summary.md, SVG plots).
Mode rgw swaps ossemu for a single-node Ceph RGW (rgw.py), brought up at
the start of its group and always taken down at the end.

Fairness rules (see plan.py): the same file, part size and server for every
engine of a group; engines alternate round by round; warm-up rounds are run
and recorded but not counted; medians with min-max over counted rounds.
After each run the object is checked on the server (anonymous HEAD: size,
and for hoist its CRC64) and the server's bytes_in must have grown by at
least the file size, so that no engine is credited for an upload that did
not happen.

Threading: single-threaded.  Processes: only those it starts, stopped by PID.
"""
import argparse
import datetime
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import engines  # noqa: E402
import host  # noqa: E402
import md5rows  # noqa: E402
import plan as plans  # noqa: E402
import plots  # noqa: E402
import report  # noqa: E402
import rgw as rgws  # noqa: E402
from proc import Ossemu, last_json_line, no_proxy_env, run_measured  # noqa: E402

TOP = os.path.dirname(os.path.dirname(HERE))
MiB = 1 << 20


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Context:
    """Paths, credentials and per-run state the engines need."""

    def __init__(self, top, work):
        self.top = top
        build = os.environ.get("HOIST_BUILD", os.path.join(top, "build"))
        self.hoist = os.environ.get("HOIST_BIN", os.path.join(build, "hoist"))
        self.ossemu = os.environ.get("OSSEMU_BIN", os.path.join(build, "ossemu"))
        self.hashbench = os.path.join(build, "hashbench")
        self.peers = os.path.join(top, "bench", "peers")
        self.node_path = os.path.join(build, "node", "node_modules")
        self.work = work
        # Local-only credentials, fresh each run, never printed or recorded.
        self.ak = "hoistbench"
        self.sk = secrets.token_hex(20)
        self.server80_note = ""
        self.hoist_s3_ok = False
        self.hoist_s3_note = "not probed"
        self._parts = {}

    def snapshot(self):
        """Copies the binaries into the work directory and uses the copies:
        every run of one harness run then uses the very same binaries, even
        if someone rebuilds build/ meanwhile.  Returns their versions and
        short SHA-256s for results.json."""
        import hashlib
        d = os.path.join(self.work, "bin")
        os.makedirs(d, exist_ok=True)
        info = {}
        for attr in ("hoist", "ossemu", "hashbench"):
            src = getattr(self, attr)
            if not os.access(src, os.X_OK):
                continue
            dst = os.path.join(d, attr)
            shutil.copy2(src, dst)
            setattr(self, attr, dst)
            with open(dst, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:16]
            ver = None
            if attr != "hashbench":
                try:
                    r = subprocess.run([dst, "--version"], capture_output=True, text=True, timeout=10)
                    ver = (r.stdout.strip().splitlines() or [None])[0]
                except (OSError, subprocess.SubprocessError):
                    pass
            info[attr] = {"version": ver, "sha256_16": digest}
        return info

    def env_base(self):
        env = no_proxy_env(os.environ)
        env["TMPDIR"] = self.work
        return env

    def env_oss(self):
        env = self.env_base()
        env["OSS_ACCESS_KEY_ID"] = self.ak
        env["OSS_ACCESS_KEY_SECRET"] = self.sk
        return env

    def env_s3(self):
        env = self.env_base()
        env["AWS_ACCESS_KEY_ID"] = self.ak
        env["AWS_SECRET_ACCESS_KEY"] = self.sk
        return env

    def env_both(self):
        """Both dialects' credentials (hoist's s3:// runs)."""
        env = self.env_oss()
        env.update({k: v for k, v in self.env_s3().items() if k.startswith("AWS_")})
        return env

    def part_files(self, path, part_size):
        """The file cut into part files (for curl -T), made once and reused."""
        k = (path, part_size)
        if k in self._parts:
            return self._parts[k]
        size = os.path.getsize(path)
        d = f"{path}.parts-{part_size}"
        os.makedirs(d, exist_ok=True)
        names = []
        with open(path, "rb") as src:
            off, i = 0, 1
            while off < size:
                n = min(part_size, size - off)
                name = os.path.join(d, f"p{i:05d}")
                if not (os.path.exists(name) and os.path.getsize(name) == n):
                    with open(name, "wb") as dst:
                        left, o = n, off
                        while left:
                            w = os.copy_file_range(src.fileno(), dst.fileno(), left, o)
                            if w <= 0:
                                raise OSError("copy_file_range made no progress")
                            left -= w
                            o += w
                names.append(name)
                off += n
                i += 1
        self._parts[k] = names
        return names


def make_file(path, size):
    """A file of incompressible bytes: a random 1 MiB block, each MiB
    prefixed with its own index so no two MiB are equal.  Reused if present."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return False
    rnd = random.Random(20240601)
    block = rnd.randbytes(MiB)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        left, i = size, 0
        while left:
            chunk = (i.to_bytes(8, "little") + block[8:])[:min(MiB, left)]
            f.write(chunk)
            left -= len(chunk)
            i += 1
        f.flush()
        os.fsync(f.fileno())  # so write-back does not run under the measurements
    os.replace(tmp, path)
    return True


def warm(path):
    """Reads the file so it is in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 * MiB):
            pass


def drop_caches():
    """Drops the page cache; returns None on success or why it could not."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return None
    except OSError as e:
        return f"cannot drop the page cache ({e.strerror})"


def scrub(text):
    """Text without this machine's paths: the checkout becomes relative."""
    return text.replace(TOP + os.sep, "").replace(TOP, ".")


def error_line(stderr):
    """The most telling line of a failed client's stderr: the last one that
    says FAILED or error, else the last line."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "FAILED" in ln or "rror" in ln:
            return ln[:400]
    return lines[-1][:400] if lines else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iperf3(seconds, streams, tries=3):
    """Loopback TCP with iperf3 (a free port, one-off server); GB/s or None.
    Retried: a loaded machine occasionally loses a one-off session."""
    if not shutil.which("iperf3") or seconds <= 0:
        return None
    for _ in range(tries):
        v = _iperf3_once(seconds, streams)
        if v is not None:
            return v
    return None


def _iperf3_once(seconds, streams):
    port = free_port()
    srv = subprocess.Popen(["iperf3", "-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # Wait for "Server listening on PORT" (flushed thanks to --forceflush)
        # before starting the client: a probe connection would itself count
        # as the one-off server's one test.
        box = []

        def wait_listening():
            for line in srv.stdout:
                if "listening" in line.lower():
                    box.append(line)
                    return

        t = threading.Thread(target=wait_listening, daemon=True)
        t.start()
        t.join(5)
        if not box:
            return None
        threading.Thread(target=lambda: srv.stdout.read(), daemon=True).start()
        r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                            "-P", str(streams), "-J"], capture_output=True, text=True,
                           timeout=seconds + 30)
        j = last_json_line(r.stdout) if r.stdout else None
        bps = j.get("end", {}).get("sum_received", {}).get("bits_per_second") if j else None
        return None if not bps else round(bps / 8 / 1e9, 3)
    except (OSError, subprocess.SubprocessError, ValueError, AttributeError):
        return None
    finally:
        if srv.poll() is None:
            srv.terminate()
            try:
                srv.wait(timeout=5)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()


def hashbench(ctx, seconds):
    if not os.access(ctx.hashbench, os.X_OK):
        return None, "build/hashbench is missing (make builds bench/tools/hashbench.c)"
    r = subprocess.run([ctx.hashbench, "--json", "--seconds", str(seconds)],
                       capture_output=True, text=True, timeout=120)
    j = last_json_line(r.stdout)
    if r.returncode != 0 or not j:
        return None, f"hashbench failed: {r.stderr.strip()[:200]}"
    return j, ""


class Runner:
    def __init__(self, ctx, p, args):
        self.ctx = ctx
        self.plan = p
        self.args = args
        self.runs = []
        self.notes = []
        self.skipped = {}
        self.t_start = time.monotonic()
        self.budget = args.budget if args.budget else p["budget_s"]
        self.files = {}
        self.only = set(args.engines.split(",")) if args.engines else None
        self.servers = {}
        self.binaries = {}
        self.server_info = None
        for name, why in p.get("skipped", {}).items():
            self.skipped[name] = why

    def note(self, msg):
        msg = scrub(msg)
        if msg not in self.notes:
            self.notes.append(msg)
            log("note: " + msg)

    def over_budget(self):
        return time.monotonic() - self.t_start > self.budget

    def engine_ok(self, name):
        if self.only is not None and name not in self.only and name != "hoist":
            return False, "not selected (--engines)"
        e = engines.BY_NAME[name]
        return e.available(self.ctx)

    # ---------------------------------------------------------- servers
    def start_servers(self, profile, want80):
        if profile == "RGW":
            log("bringing up Ceph RGW (tests/rgw/rgw-up.sh)")
            srv = rgws.Rgw(TOP, os.path.join(self.ctx.work, "rgw"), engines.BUCKET)
            self.servers = {"main": srv}
            # RGW's user keys (fixed local test keys, never printed).
            self.ctx.ak, self.ctx.sk = srv.ak, srv.sk
            self.server_info = {"kind": "ceph-rgw", "objectstore": srv.objectstore,
                                "version": srv.version,
                                "bringup": [scrub(x) for x in srv.bringup_log]}
            log(f"RGW at {srv.url} ({srv.objectstore}); bucket {engines.BUCKET} created")
            return
        flags = plans.PROFILES[profile]
        args = ["--bucket", engines.BUCKET, "--key", f"{self.ctx.ak}:{self.ctx.sk}",
                "--anonymous", "--discard"] + flags
        self.servers = {"main": Ossemu(self.ctx.ossemu, args, 0, f"ossemu-{profile}")}
        log(f"ossemu {profile} at {self.servers['main'].url} ({' '.join(flags) or 'no shaping'})")
        self.ctx.server80_note = ""
        if want80:
            try:
                self.servers["port80"] = Ossemu(self.ctx.ossemu, args, 80, f"ossemu-{profile}-80")
                log("second ossemu listener on 127.0.0.1:80 for aws-c-s3")
            except RuntimeError as e:
                self.ctx.server80_note = ("port 80 could not be bound for aws-c-s3's server "
                                          f"(python3-awscrt 0.16 always dials port 80): {str(e)[:160]}")
                self.note(self.ctx.server80_note)

    def stop_servers(self):
        for s in self.servers.values():
            s.stop()
        self.servers = {}

    def probe_hoist_s3(self):
        e = engines.BY_NAME["hoist"]
        ok, why = e.available(self.ctx)
        if not ok:
            self.ctx.hoist_s3_note = why
            return
        path = os.path.join(self.ctx.work, "probe-1MiB.bin")
        make_file(path, MiB)
        srv = self.servers["main"]
        argv = [self.ctx.hoist, "cp", path, f"s3://{engines.BUCKET}/probe/s3", "--endpoint", srv.url,
                "--json", "--quiet", "--checkpoint-dir", os.path.join(self.ctx.work, "journal")]
        argv += getattr(srv, "s3_flags", [])
        try:
            r = subprocess.run(argv, env=self.ctx.env_both(), capture_output=True, text=True, timeout=60)
            ok = r.returncode == 0
            why = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[0][:200]
        except (OSError, subprocess.SubprocessError) as ex:
            ok, why = False, str(ex)[:200]
        if hasattr(srv, "after_run"):
            srv.after_run(engines.BUCKET, "probe/s3")
        self.ctx.hoist_s3_ok = ok
        self.ctx.hoist_s3_note = "" if ok else f"hoist cp to s3:// does not work yet ({why}); hoist-s3 skipped"
        if not ok:
            self.note(self.ctx.hoist_s3_note)

    # ---------------------------------------------------------- one run
    def run_one(self, g, c, rnd, counted):
        e = engines.BY_NAME[c["engine"]]
        path = self.files[c["file_bytes"]]
        srv = self.servers["port80"] if e.needs_port80 else self.servers["main"]
        key = f"{e.name}/{g['name']}/{c['part_size']}-{c['jobs']}-{c['checksum']}-{c['cache']}/r{rnd}"
        argv, env = e.command(self.ctx, c, path, key, srv)
        size = c["file_bytes"]
        b0 = {n: s.bytes_in() for n, s in self.servers.items()}
        timeout = max(300, size / 5e6)
        m = run_measured(argv, env=env, timeout=timeout, cwd=self.ctx.top,
                         servers=list(self.servers.values()))
        b1 = {n: s.bytes_in() for n, s in self.servers.items()}
        if not m["clean_rss"]:
            self.note("could not become a subreaper: peak RSS figures include the harness's own")
        rec = {
            "group": g["name"], "round": rnd, "counted": counted,
            "engine": e.name, "dialect": e.dialect, "file_bytes": size,
            "part_size": c["part_size"], "jobs": e.jobs(c), "checksum": e.checksum(c),
            "profile": c["profile"], "cache": c["cache"],
            "ok": m["rc"] == 0 and not m["timed_out"],
            "rc": m["rc"], "wall_s": round(m["wall_s"], 4),
            "throughput_MBps": round(size / m["wall_s"] / 1e6, 2),
            "client_user_s": round(m["user_s"], 3), "client_sys_s": round(m["sys_s"], 3),
            "client_cpu_s": round(m["cpu_s"], 3),
            "cpu_s_per_GB": round(m["cpu_s"] / (size / 1e9), 3),
            "peak_rss_MiB": round(m["maxrss_kib"] / 1024, 1),
            "server_cpu_s": round(m["server_cpu_s"], 2),
            "server_cpu_s_per_GB": round(m["server_cpu_s"] / (size / 1e9), 3),
        }
        if all(b0.get(n) is not None and b1.get(n) is not None for n in self.servers):
            rec["server_bytes_in"] = sum(b1[n] - b0[n] for n in self.servers)
        rec.update(e.parse(m["stdout"]))
        lat = rec.get("part_latencies_s")
        if lat:
            rec["part_latencies_s"] = [round(x, 4) for x in lat]
        if m["timed_out"]:
            rec["error"] = f"timed out after {timeout:.0f} s"
        elif m["rc"] != 0:
            rec["error"] = scrub(error_line(m["stderr"]) or f"exit {m['rc']}")
        if rec["ok"]:
            self.verify(rec, e, srv, key, size)
        else:
            # A failed run's rates are meaningless: keep its times, drop its rates.
            for k in ("throughput_MBps", "cpu_s_per_GB", "server_cpu_s_per_GB"):
                rec[k] = None
        if hasattr(srv, "after_run"):
            srv.after_run(engines.BUCKET, key)  # RGW: delete it, free the OSD's memory
        self.runs.append(rec)
        flag = "" if counted else " (warm-up, not counted)"
        status = "ok" if rec["ok"] else f"FAILED: {rec.get('error', '')}"
        figures = (f"{rec['throughput_MBps']:8.1f} MB/s cpu {rec['cpu_s_per_GB']:5.2f} s/GB "
                   f"rss {rec['peak_rss_MiB']:6.1f} MiB" if rec["ok"] else f"{rec['wall_s']:8.2f} s")
        if rec.get("verified") is False:
            status = "UNVERIFIED: " + "; ".join(rec.get("verify_problems", []))
        log(f"  {e.name:14s} {c['profile']} {size >> 20}MiB part {c['part_size'] >> 20}MiB "
            f"jobs {rec['jobs']:>3} {rec['checksum']:11s} {figures}{flag} {status}")
        return rec

    def verify(self, rec, e, srv, key, size):
        """The upload really happened: bytes reached the server, and the
        object has the right size (and, for hoist, CRC64)."""
        problems = []
        if rec.get("resumed_parts"):
            problems.append(f"{rec['resumed_parts']} parts were resumed from an earlier run")
        got = rec.get("server_bytes_in")
        if got is not None and got < size:
            problems.append(f"server received {got} body bytes, fewer than the file's {size}")
        if e.makes_object:
            st, h = srv.head(engines.BUCKET, key)
            if st != 200:
                problems.append(f"HEAD of the object answered {st}")
            else:
                if h.get("content-length") not in (None, str(size)):
                    problems.append(f"object size {h.get('content-length')} != {size}")
                crc = h.get("x-oss-hash-crc64ecma")
                if e.name.startswith("hoist") and crc is not None and rec.get("crc64") is not None \
                        and str(crc) != str(rec["crc64"]):
                    problems.append(f"server CRC64 {crc} != hoist's {rec['crc64']}")
        rec["verified"] = not problems
        if problems:
            rec["verify_problems"] = problems
            self.note(f"{e.name}: verification failed in group {rec['group']}: {problems[0]}")

    # ---------------------------------------------------------- a group
    def run_group(self, g):
        configs = []
        for c in g["configs"]:
            ok, why = self.engine_ok(c["engine"])
            if ok:
                configs.append(c)
            else:
                self.skipped.setdefault(c["engine"], why)
        if not configs:
            return
        for size in sorted({c["file_bytes"] for c in configs}):
            warm(self.files[size])
        rounds = g["warmup"] + g["reps"]
        log(f"group {g['name']} ({g['profile']}): {len(configs)} configurations x "
            f"{rounds} rounds ({g['warmup']} warm-up)")
        dead = set()
        for rnd in range(rounds):
            if self.over_budget() and rnd > g["warmup"]:
                self.note(f"time budget ({self.budget:.0f} s) reached: group {g['name']} "
                          f"stopped after {rnd - g['warmup']} counted round(s)")
                break
            k = rnd % len(configs)
            for c in configs[k:] + configs[:k]:
                ident = id(c)
                if ident in dead:
                    continue
                rec = self.run_one(g, c, rnd, rnd >= g["warmup"])
                if not rec["ok"]:
                    dead.add(ident)
                    self.note(f"{c['engine']} (part {c['part_size'] >> 20} MiB, jobs {c['jobs']}, "
                              f"{c['checksum']}) failed in group {g['name']} and that configuration "
                              f"was dropped from it: {rec.get('error', '')[:200]}")

    def run_cold(self, g):
        """One run with the page cache dropped just before it: the file
        comes from disk.  Not alternated and not repeated (each repetition
        would need another drop, which also evicts everyone else's cache)."""
        why = drop_caches()
        if why:
            self.note(f"cold-cache run skipped: {why}")
            return
        log("cold-cache run (page cache dropped)")
        self.run_one(g, g["configs"][0], 0, True)

    # ---------------------------------------------------------- the whole run
    def run(self):
        p = self.plan
        os.makedirs(self.ctx.work, exist_ok=True)
        self.binaries = self.ctx.snapshot()
        for size in p["files"]:
            path = os.path.join(self.ctx.work, f"data-{size}.bin")
            log(f"test file {size >> 20} MiB: " + ("written" if make_file(path, size) else "reused"))
            self.files[size] = path
        ceilings = {}
        hb, why = hashbench(self.ctx, p["hashbench_seconds"])
        if hb:
            ceilings["hash"] = hb
            log(f"hashbench: MD5 {hb['md5_GBps_per_core']} GB/s/core, "
                f"CRC64 {hb['crc64_GBps_per_core']} GB/s/core")
        else:
            self.note(why)
        if p["iperf3_seconds"]:
            if shutil.which("iperf3"):
                one = iperf3(p["iperf3_seconds"], 1)
                eight = iperf3(p["iperf3_seconds"], 8)
                ceilings["iperf3"] = {"streams_1_GBps": one, "streams_8_GBps": eight,
                                      "seconds": p["iperf3_seconds"]}
                log(f"iperf3 loopback: 1 stream {one} GB/s, 8 streams {eight} GB/s")
            else:
                self.note("iperf3 is not installed: no loopback TCP ceiling")
        # Groups run in plan order; the servers are (re)started whenever the
        # profile changes, so the plan can put what matters most first and let
        # the time budget cut only the tail.
        profile = None
        try:
            for g in p["groups"]:
                if self.over_budget():
                    self.note(f"time budget ({self.budget:.0f} s) reached: group {g['name']} not run")
                    continue
                if g["profile"] != profile:
                    self.stop_servers()
                    profile = g["profile"]
                    later = [x for x in p["groups"] if x["profile"] == profile]
                    want80 = any(c["engine"] == "aws-c-s3" for x in later for c in x["configs"]) and \
                        self.engine_ok("aws-c-s3")[0]
                    self.start_servers(profile, want80)
                if any(c["engine"] == "hoist-s3" for c in g["configs"]) and \
                        self.ctx.hoist_s3_note == "not probed":
                    self.probe_hoist_s3()
                if g.get("cold"):
                    if self.engine_ok(g["configs"][0]["engine"])[0]:
                        self.run_cold(g)
                elif g.get("evict"):
                    md5rows.run_evicted(self, g)
                else:
                    self.run_group(g)
        finally:
            self.stop_servers()
        for name, why in sorted(self.skipped.items()):
            self.note(f"{name} not run: {why}")
        if not any(g.get("cold") for g in p["groups"]):
            self.note("no cold-cache run in this mode (full mode has one)")
        return ceilings


def results_dir(mode):
    date = datetime.date.today().isoformat()
    name = f"{date}-{host.short_hostname()}"
    if mode != "full":
        name += f"-{mode}"
    return os.path.join(TOP, "bench", "results", name)


def rereport(out, readme=False):
    """Rebuilds the derived outputs of a results directory (after a change
    to the report or the plots) without re-running anything."""
    import json
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    doc["cells"] = report.cells_of(doc["runs"])
    doc["ratios"] = report.ratios(doc["cells"], doc["ceilings"])
    doc["notes"] = [n for n in doc["notes"] if not n.startswith("plotting:")]
    svgs, why = plots.draw(out, doc)
    if why:
        doc["notes"].append(why)
    doc["plots"] = svgs
    report.write(out, doc)
    print(f"rewrote {out}: results.csv, summary.md, {len(svgs)} plots")
    if readme:
        path = os.path.join(TOP, "bench", "README.md")
        rel = os.path.relpath(os.path.abspath(out), os.path.dirname(path))
        if not report.update_readme(path, doc, rel):
            print("bench/README.md has no generated block markers", file=sys.stderr)
            return 1
        print("updated the latest results in bench/README.md")
    return 0


def main():
    ap = argparse.ArgumentParser(description="hoist benchmark harness")
    ap.add_argument("mode", choices=sorted(plans.PLANS))
    ap.add_argument("--out", help="results directory (default bench/results/<date>-<host>[-mode])")
    ap.add_argument("--engines", help="comma list of engines besides hoist (default: all available)")
    ap.add_argument("--keep-files", action="store_true", help="keep the test files in build/bench-work")
    ap.add_argument("--budget", type=float, help="stop starting new rounds after this many seconds")
    ap.add_argument("--list", action="store_true", help="print the plan and exit")
    ap.add_argument("--report-only", metavar="DIR",
                    help="redo summary.md, results.csv and the plots from DIR/results.json")
    ap.add_argument("--readme", action="store_true",
                    help="with --report-only: also put DIR's tables into bench/README.md")
    args = ap.parse_args()
    if args.report_only:
        return rereport(args.report_only, args.readme)

    p = plans.PLANS[args.mode]()
    if args.list:
        for g in p["groups"]:
            print(f"{g['name']:14s} {g['profile']} warm-up {g['warmup']} + {g['reps']} rounds:")
            for c in g["configs"]:
                print(f"    {c['engine']:14s} {c['file_bytes'] >> 20:5d} MiB part {c['part_size'] >> 20:2d} MiB "
                      f"jobs {c['jobs']:3d} {c['checksum']:7s} {c['cache']}")
        return 0
    out = os.path.abspath(args.out) if args.out else results_dir(args.mode)
    # One work directory per mode, so that a smoke run (make check) never
    # removes the files of a full run going on at the same time.
    work = os.path.join(os.environ.get("HOIST_BUILD", os.path.join(TOP, "build")), "bench-work",
                        args.mode)
    ctx = Context(TOP, work)
    if not os.access(ctx.ossemu, os.X_OK):
        print("bench: build/ossemu is missing: run make first", file=sys.stderr)
        return 2
    # SIGTERM as an exception, so that the finally blocks stop the servers
    # (above all a Ceph RGW, which would otherwise outlive the harness).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = datetime.datetime.now().astimezone()
    log(f"mode {args.mode}; results in {os.path.relpath(out, TOP)}")
    facts = host.facts(TOP)
    r = Runner(ctx, p, args)
    try:
        ceilings = r.run()
    finally:
        if not args.keep_files and os.path.isdir(work):
            shutil.rmtree(work, ignore_errors=True)
    finished = datetime.datetime.now().astimezone()
    facts["binaries"] = r.binaries
    if r.server_info:
        facts["server"] = r.server_info
    doc = report.build(p, facts, ceilings, r.runs, r.notes, started, finished)
    os.makedirs(out, exist_ok=True)
    report.write(out, doc)
    svgs, why = plots.draw(out, doc)
    if why:
        doc["notes"].append(why)
    doc["plots"] = svgs
    report.write(out, doc)  # again, with the plot list and any plot note
    with open(os.path.join(out, "summary.md")) as f:
        print(f.read())
    log(f"wrote {os.path.relpath(out, TOP)}: results.json, results.csv, summary.md, "
        f"{len(svgs)} plots in {(finished - started).total_seconds():.0f} s")
    failed = [x for x in r.runs if not x["ok"] and x["engine"].startswith("hoist")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
