"""md5rows - the MD5 paths in the benchmark (issue 10).

Owns, apart from the rest of the harness so that other rows can grow
beside them:
  - engines hoist-md5-scalar / -avx2 / -avx512: hoist in the default mode
    (--checksum both) with HOIST_MD5 forcing the path; each is available
    only where `hoist --version` under that HOIST_MD5 names it (a CPU
    without AVX-512 skips that row and says why);
  - the group md5-paths-LAN: hoist --checksum crc64 and every MD5 path in
    the default mode, alternating, same file and server, so the ratio of
    each path's client CPU to CRC64-only is measured in one run;
  - the group md5-evicted: hoist crc64 and hoist in the default mode with
    the file evicted from the page cache (posix_fadvise DONTNEED, this
    file only: the rest of a shared machine's cache is left alone) before
    every run, and the block device's counters around each run: grouped
    hashing reads 16-32 parts at once, and the average read request size
    says whether that kept the disk's reads large and sequential;
  - the summary.md section of both, and the per-path hashbench lines.
Hooks elsewhere: plan.py appends groups(), run.py sends groups marked
"evict" to run_evicted(), report.py adds section() and hashbench_lines().
Importing this module registers its engines in engines.BY_NAME.
"""
import os
import statistics
import subprocess

import engines

PATHS = ("scalar", "avx2", "avx512")
BARS = {"avx512": 1.5, "avx2": 1.8}   # the bars: both / crc64 client CPU


class HoistMd5(engines.Hoist):
    """hoist in the default mode with one MD5 path forced."""

    def __init__(self, path):
        super().__init__("oss")
        self.path = path
        self.name = f"hoist-md5-{path}"
        self._ok = None

    def available(self, ctx):
        ok, why = super().available(ctx)
        if not ok:
            return ok, why
        if self._ok is None:
            env = dict(ctx.env_base(), HOIST_MD5=self.path)
            try:
                r = subprocess.run([ctx.hoist, "--version"], env=env, capture_output=True,
                                   text=True, timeout=10)
                self._ok = (f"md5: {self.path}\n" in r.stdout, r.stdout.strip()[-120:])
            except (OSError, subprocess.SubprocessError) as e:
                self._ok = (False, str(e)[:120])
        if not self._ok[0]:
            return False, f"HOIST_MD5={self.path} is refused on this CPU ({self._ok[1]})"
        return True, ""

    def checksum(self, cfg):
        return "both"

    def command(self, ctx, cfg, path, key, server):
        argv, env = super().command(ctx, dict(cfg, checksum="both"), path, key, server)
        env["HOIST_MD5"] = self.path
        return argv, env


ENGINES = [HoistMd5(p) for p in PATHS]
engines.BY_NAME.update({e.name: e for e in ENGINES})


def groups(size, part, reps, evicted_reps):
    """The two groups, for plan.quick() / plan.full()."""
    from plan import cfg, group
    c = [cfg("hoist", size, part, 64, "crc64")]
    c += [cfg(e.name, size, part, 64, "both") for e in ENGINES]
    paths = group("md5-paths-LAN", "LAN", c, warmup=1, reps=reps,
                  note="hoist --checksum crc64 beside the default mode on each MD5 path "
                       "(HOIST_MD5), for the ratio of client CPU in one run")
    ev = {"name": "md5-evicted", "profile": "LAN", "warmup": 0, "reps": evicted_reps,
          "evict": True,
          "configs": [cfg("hoist", size, part, 64, "crc64", cache="evicted"),
                      cfg("hoist", size, part, 64, "both", cache="evicted")],
          "note": "the file evicted from the page cache (posix_fadvise DONTNEED) before every "
                  "run, alternating; block-device read counters around each run"}
    return [paths, ev]


# ------------------------------------------------------------------ running

def evict(path):
    """Drops this file's pages from the page cache; None or why not."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)  # dirty pages cannot be dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        return None
    except OSError as e:
        return f"cannot evict {os.path.basename(path)} ({e.strerror})"


def disk_reads(path):
    """(read requests, sectors read, ms spent reading) of the block device
    holding path, from /sys/dev/block/MAJ:MIN/stat; None if unreadable."""
    st = os.stat(path)
    try:
        with open(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat") as f:
            v = [int(x) for x in f.read().split()]
        return v[0], v[2], v[3]
    except (OSError, ValueError, IndexError):
        return None


def run_evicted(runner, g):
    """Every configuration of g in alternation, the file evicted before each
    run; the disk's read counters recorded into each run's record.  Other
    processes' reads of the same device count too: the figures are what
    the device saw, on a shared machine."""
    configs = [c for c in g["configs"] if runner.engine_ok(c["engine"])[0]]
    for rnd in range(g["reps"]):
        k = rnd % len(configs) if configs else 0
        for c in configs[k:] + configs[:k]:
            path = runner.files[c["file_bytes"]]
            why = evict(path)
            if why:
                runner.note(f"md5-evicted skipped: {why}")
                return
            d0 = disk_reads(path)
            rec = runner.run_one(g, c, rnd, True)
            d1 = disk_reads(path)
            if d0 and d1:
                n, sectors, ms = (b - a for a, b in zip(d0, d1))
                rec["disk_reads"] = n
                rec["disk_read_MiB"] = round(sectors * 512 / (1 << 20), 1)
                rec["disk_avg_read_KiB"] = round(sectors * 512 / 1024 / n, 0) if n else None
                rec["disk_read_ms"] = ms


# ------------------------------------------------------------------ reporting

def _med(runs, key):
    v = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(v) if v else None


def _fmt(v, f="{:.2f}"):
    return "–" if v is None else f.format(v)


def engine_md5_rate(hb):
    """(path, GB/s per core) of the MD5 the engine uses, from hashbench's
    JSON: its multi-buffer path when it has one, else OpenSSL."""
    path = hb.get("md5_impl")
    rate = hb.get(f"md5_{path}_GBps_per_core")
    if rate:
        return path, rate
    return "OpenSSL", hb["md5_GBps_per_core"]


def hashbench_lines(hb):
    """Per-path MD5 lines for summary.md's ceilings."""
    if not hb or not hb.get("md5_GBps_per_core"):
        return []
    base = hb["md5_GBps_per_core"]
    parts = []
    for p in ("avx2", "avx512"):
        v = hb.get(f"md5_{p}_GBps_per_core")
        if v:
            parts.append(f"{p} {v:.2f} ({v / base:.1f}× OpenSSL)")
    if not parts:
        return []
    return ["- MD5 in lanes (build/hashbench, all lanes busy): " + ", ".join(parts) +
            f" GB/s per core; the engine's path here: {hb.get('md5_impl', '?')}."]


def section(doc):
    """summary.md's "MD5 paths" section: each path's default mode against
    CRC64-only, and the evicted-cache pair."""
    runs = [r for r in doc["runs"] if r["counted"] and r["ok"]]
    L = []
    pr = [r for r in runs if r["group"] == "md5-paths-LAN"]
    if pr:
        crc = _med([r for r in pr if r["engine"] == "hoist" and r["checksum"] == "crc64"],
                   "cpu_s_per_GB")
        any_r = pr[0]
        L += [f"## MD5 paths ({any_r['file_bytes'] >> 20} MiB, {any_r['part_size'] >> 20} MiB "
              f"parts, jobs {any_r['jobs']}, LAN, alternating)", "",
              "The default mode (`--checksum both`: Content-MD5 and CRC64 per part) with each "
              "MD5 path forced by HOIST_MD5, beside `--checksum crc64`. Judge it by client CPU: "
              "its throughput is capped by ossemu's own serial MD5 of every Content-MD5 on the "
              "same two cores. Bars (issue 10): CPU × crc64 at most 1.5 with AVX-512, 1.8 "
              "with AVX2.", "",
              "| hoist | MD5 path | MB/s | client CPU-s/GB | × crc64 CPU | bar | runs |",
              "|---|---|---:|---:|---:|---:|---:|"]
        rows = [("crc64", "hoist", "–")] + [("both", e.name, e.path) for e in ENGINES]
        for ck, eng, path in rows:
            rr = [r for r in pr if r["engine"] == eng and r["checksum"] == ck]
            if not rr:
                continue
            cpu = _med(rr, "cpu_s_per_GB")
            ratio = cpu / crc if cpu and crc and ck == "both" else None
            bar = BARS.get(path)
            L.append(f"| {ck} | {path} | {_fmt(_med(rr, 'throughput_MBps'), '{:.0f}')} | "
                     f"{_fmt(cpu)} | {_fmt(ratio)} | {'–' if bar is None else f'≤ {bar}'} | "
                     f"{len(rr)} |")
        L.append("")
    er = [r for r in runs if r["group"] == "md5-evicted"]
    if er:
        any_r = er[0]
        L += [f"## Evicted cache ({any_r['file_bytes'] >> 20} MiB, this file dropped from the "
              f"page cache before every run)", "",
              "Grouped hashing reads a batch of parts (one per lane) at once, in 64 KiB chunks "
              "taken in turn; the block device's counters show whether its reads stayed large "
              "(the kernel's readahead per stream) or turned small and random.", "",
              "| hoist | MB/s | client CPU-s/GB | reads | MiB read | avg read KiB | read ms | runs |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for ck in ("crc64", "both"):
            rr = [r for r in er if r["checksum"] == ck]
            if not rr:
                continue
            L.append(f"| {ck} | {_fmt(_med(rr, 'throughput_MBps'), '{:.0f}')} | "
                     f"{_fmt(_med(rr, 'cpu_s_per_GB'))} | {_fmt(_med(rr, 'disk_reads'), '{:.0f}')} | "
                     f"{_fmt(_med(rr, 'disk_read_MiB'), '{:.0f}')} | "
                     f"{_fmt(_med(rr, 'disk_avg_read_KiB'), '{:.0f}')} | "
                     f"{_fmt(_med(rr, 'disk_read_ms'), '{:.0f}')} | {len(rr)} |")
        L.append("")
    return L
