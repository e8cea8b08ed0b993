"""report - from runs to results.json, results.csv and summary.md.

Owns: aggregation (per cell: median and min-max over counted, successful
runs), the ratios (hoist vs each peer, measured in the same group, and hoist
vs the ceilings), and the three text outputs.  A cell is one configuration
within one group: cells of different groups are never mixed, because only
runs that alternated with each other are comparable.

Units: throughput in MB/s (10^6 bytes per second of wall time, process start
to exit, so a client's start-up counts); CPU in seconds per GB (10^9 bytes)
of the file; peak RSS in MiB.
"""
import csv
import json
import os
import statistics

import md5rows

SCHEMA = "hoist-bench/1"
PEERS = ("aws-c-s3", "aws-cli", "rclone", "rclone-nocksum", "ali-oss")
METRICS = ["wall_s", "throughput_MBps", "client_cpu_s", "cpu_s_per_GB", "peak_rss_MiB",
           "server_cpu_s_per_GB", "engine_seconds", "ttfb_s", "part_p50_s", "part_p99_s",
           "retries"]
CELL_KEYS = ["group", "engine", "dialect", "file_bytes", "part_size", "jobs", "checksum",
             "profile", "cache"]
CSV_FIELDS = ["group", "round", "counted", "engine", "dialect", "file_bytes", "part_size", "jobs",
              "checksum", "profile", "cache", "ok", "verified", "rc", "wall_s", "throughput_MBps",
              "client_user_s", "client_sys_s", "client_cpu_s", "cpu_s_per_GB", "peak_rss_MiB",
              "server_cpu_s", "server_cpu_s_per_GB", "server_bytes_in", "engine_seconds", "ttfb_s",
              "part_p50_s", "part_p99_s", "retries", "bytes_sent", "crc64", "error"]


def stat(values):
    v = [x for x in values if isinstance(x, (int, float))]
    if not v:
        return None
    return {"median": round(statistics.median(v), 4), "min": round(min(v), 4),
            "max": round(max(v), 4), "n": len(v)}


def cells_of(runs):
    by = {}
    for r in runs:
        k = tuple(r[x] for x in CELL_KEYS)
        by.setdefault(k, []).append(r)
    cells = []
    for k, rs in by.items():
        good = [r for r in rs if r["counted"] and r["ok"]]
        c = dict(zip(CELL_KEYS, k))
        c["runs_counted"] = len(good)
        c["runs_failed"] = sum(1 for r in rs if not r["ok"])
        c["runs_unverified"] = sum(1 for r in rs if r["ok"] and r.get("verified") is False)
        for m in METRICS:
            s = stat([r.get(m) for r in good])
            if s:
                c[m] = s
        cells.append(c)
    return cells


def med(cell, m):
    s = cell.get(m) if cell else None
    return s["median"] if s else None


def find(cells, **kw):
    for c in cells:
        if all(c.get(k) == v for k, v in kw.items()):
            return c
    return None


def base_hoist(gc, mode):
    """The hoist cell peers are compared with: the OSS dialect where it ran,
    else (against RGW, which speaks S3 only) the S3 dialect."""
    return find(gc, engine="hoist", checksum=mode) or find(gc, engine="hoist-s3", checksum=mode)


GiB_per_GB = (1 << 30) / 1e9


def rgw_section(doc):
    """summary.md's lead in mode rgw: client CPU-seconds per GiB, hoist
    (S3 dialect) against each peer, then every engine's figures."""
    cells = [c for c in doc["cells"] if c["profile"] == "RGW" and c["runs_counted"]]
    if not cells:
        return []
    any_c = cells[0]
    L = [f"## Client CPU per GiB against Ceph RGW ({size_txt(any_c['file_bytes'])}, "
         f"{any_c['part_size'] >> 20} MiB parts, jobs {any_c['jobs']} where the client has the knob)",
         "",
         "RGW (radosgw + one OSD + mon) runs on the same 2 cores as the client and costs several "
         "CPU-seconds per GiB itself (last column), so it caps every client; within that cap, "
         "every CPU-second the client spends is taken from RGW. The headline is therefore what a "
         "client costs: its own CPU-seconds per GiB uploaded (user+sys of its whole process tree, "
         "wait4). Ratio = peer CPU-s/GiB / hoist CPU-s/GiB (above 1: hoist uses less).",
         "",
         "| peer | its checksum work | client CPU-s/GiB | × hoist crc64 | × hoist both |",
         "|---|---|---:|---:|---:|"]
    h = {m: find(cells, engine="hoist-s3", checksum=m) for m in ("crc64", "both")}
    hc = {m: (med(c, "cpu_s_per_GB") * GiB_per_GB if c and med(c, "cpu_s_per_GB") else None)
          for m, c in h.items()}
    for c in sorted(cells, key=lambda c: med(c, "cpu_s_per_GB") or 0):
        if c["engine"].startswith("hoist"):
            continue
        v = med(c, "cpu_s_per_GB")
        g = v * GiB_per_GB if v is not None else None
        L.append(f"| {c['engine']} | {c['checksum']} | {'–' if g is None else f'{g:.2f}'} | "
                 f"{x(g / hc['crc64'] if g and hc['crc64'] else None)} | "
                 f"{x(g / hc['both'] if g and hc['both'] else None)} |")
    L.append("")
    L.append("| engine | checksum | jobs | MB/s | client CPU-s/GiB | peak RSS MiB | "
             "server CPU-s/GiB (mon+osd+rgw) | runs |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for c in sorted(cells, key=lambda c: med(c, "cpu_s_per_GB") or 0):
        L.append(f"| {c['engine']} | {c['checksum']} | {c['jobs']} | {rng(c, 'throughput_MBps')} | "
                 f"{gib(c, 'cpu_s_per_GB')} | {rng(c, 'peak_rss_MiB', '{:.0f}')} | "
                 f"{gib(c, 'server_cpu_s_per_GB')} | {c['runs_counted']}{failed_txt(c)} |")
    L.append("")
    return L


def gib(cell, m):
    """A per-GB (10^9) figure of a cell as per GiB: median (min–max)."""
    s = cell.get(m) if cell else None
    if not s:
        return "–"
    a, lo, hi = (s[k] * GiB_per_GB for k in ("median", "min", "max"))
    if s["n"] == 1 or s["min"] == s["max"]:
        return f"{a:.2f}"
    return f"{a:.2f} ({lo:.2f}–{hi:.2f})"


def bars(cells):
    """issue 9's bars, from the bars-* groups: on a shaped profile the
    adaptive default against --fixed-jobs at the same jobs (>= 90 %, 80 %
    below 1 GiB); on LAN against the best fixed setting (>= 95 % at <= 1.1x
    its CPU-s/GB).  One row per comparison: what, ratio, bar, met."""
    rows = []
    for g in sorted({c["group"] for c in cells if c["group"].startswith("bars-")}):
        gc = [c for c in cells if c["group"] == g and c["runs_counted"]]
        ad = [c for c in gc if c["engine"] == "hoist"]
        fx = [c for c in gc if c["engine"] == "hoist-fixed" and med(c, "throughput_MBps")]
        for a in ad:
            ta, ca = med(a, "throughput_MBps"), med(a, "cpu_s_per_GB")
            if not ta:
                continue
            if a["profile"] == "LAN":
                if not fx:
                    continue
                best = max(fx, key=lambda c: med(c, "throughput_MBps"))
                tb, cb = med(best, "throughput_MBps"), med(best, "cpu_s_per_GB")
                cpu_x = ca / cb if ca and cb else None
                rows.append({"group": g, "what": f"default (jobs {a['jobs']}) vs best fixed "
                             f"(--fixed-jobs --jobs {best['jobs']})", "adaptive_MBps": ta,
                             "fixed_MBps": tb, "ratio": ta / tb, "bar": 0.95, "cpu_x": cpu_x,
                             "met": ta / tb >= 0.95 and (cpu_x is None or cpu_x <= 1.1)})
                continue
            same = [c for c in fx if c["jobs"] == a["jobs"]]
            if not same:
                continue
            tb = med(same[0], "throughput_MBps")
            bar = 0.90 if a["file_bytes"] >= (1 << 30) else 0.80
            rows.append({"group": g, "what": f"adaptive --jobs {a['jobs']} vs --fixed-jobs "
                         f"--jobs {a['jobs']}", "adaptive_MBps": ta, "fixed_MBps": tb,
                         "ratio": ta / tb, "bar": bar, "cpu_x": None, "met": ta / tb >= bar})
    return rows


def bars_section(cells):
    rows = bars(cells)
    if not rows:
        return []
    L = ["## Adaptive concurrency: the bars (issue 9)", "",
         "| group | comparison | adaptive MB/s | fixed MB/s | ratio | bar | CPU-s/GB × | met |",
         "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        cx = f"{r['cpu_x']:.2f}" if r["cpu_x"] is not None else "–"
        L.append(f"| {r['group']} | {r['what']} | {r['adaptive_MBps']:.0f} | {r['fixed_MBps']:.0f} | "
                 f"{100 * r['ratio']:.0f} % | {100 * r['bar']:.0f} % | {cx} | "
                 f"{'yes' if r['met'] else 'NO'} |")
    L.append("")
    for g in sorted({r["group"] for r in rows}):
        gc = [c for c in cells if c["group"] == g and c["runs_counted"]]
        L.append(f"{g}: " + "; ".join(
            f"{_engine_label(c)} jobs {c['jobs']}: {rng(c, 'throughput_MBps')} MB/s, "
            f"{one(c, 'cpu_s_per_GB')} CPU-s/GB" for c in
            sorted(gc, key=lambda c: (c["engine"], c["jobs"]))) + ".")
        L.append("")
    return L


def ratios(cells, ceilings):
    """Per peers group: hoist (each checksum mode) against every other engine,
    and against the curl ceiling, iperf3 and the hashing bound."""
    out = {}
    for g in sorted({c["group"] for c in cells if c["group"].startswith("peers")}):
        gc = [c for c in cells if c["group"] == g and c["runs_counted"]]
        entry = {"rows": [], "ceilings": []}
        for mode in ("crc64", "both"):
            h = base_hoist(gc, mode)
            if not h or med(h, "throughput_MBps") is None:
                continue
            for c in gc:
                if c["engine"] not in PEERS:
                    continue
                row = {"hoist_checksum": mode, "engine": c["engine"], "checksum": c["checksum"],
                       "jobs": c["jobs"]}
                tp, ct, rs = med(c, "throughput_MBps"), med(c, "cpu_s_per_GB"), med(c, "peak_rss_MiB")
                if tp:
                    row["throughput_x"] = round(med(h, "throughput_MBps") / tp, 2)
                if ct and med(h, "cpu_s_per_GB"):
                    row["cpu_per_GB_x"] = round(ct / med(h, "cpu_s_per_GB"), 2)
                if rs and med(h, "peak_rss_MiB"):
                    row["peak_rss_x"] = round(rs / med(h, "peak_rss_MiB"), 2)
                entry["rows"].append(row)
            if h["profile"] != "RGW":  # RGW caps every client: no client ceiling applies
                entry["ceilings"] += ceiling_rows(gc, h, mode, ceilings)
        out[g] = entry
    return out


def ceiling_rows(gc, h, mode, ceilings):
    rows = []
    tp = med(h, "throughput_MBps")
    cu = find(gc, engine="curl-ceiling")
    if cu and med(cu, "throughput_MBps"):
        label = f"transport: {cu['jobs']} parallel curl -T"
        if h["profile"] != "LAN":
            # With per-connection shaping, curl needs as many processes as
            # connections, and that many processes on a few cores cost more
            # than they move: a reference point here, not a ceiling.
            label += " (reference, not a ceiling: one process per connection)"
        rows.append({"hoist_checksum": mode, "ceiling": label,
                     "ceiling_MBps": med(cu, "throughput_MBps"), "hoist_MBps": tp,
                     "percent": round(100 * tp / med(cu, "throughput_MBps"), 1)})
    bw = wan_conn_MBps(h["profile"])
    if bw and mode == "crc64":
        bound = bw * h["jobs"]
        rows.append({"hoist_checksum": mode,
                     "ceiling": f"shaping: {h['jobs']} connections x {bw:g} MB/s",
                     "ceiling_MBps": bound, "hoist_MBps": tp, "percent": round(100 * tp / bound, 1)})
    ip = ceilings.get("iperf3") or {}
    for k, label in (("streams_1_GBps", "loopback TCP, iperf3 1 stream"),
                     ("streams_8_GBps", "loopback TCP, iperf3 8 streams")):
        if mode == "crc64" and h["profile"] == "LAN" and ip.get(k):
            rows.append({"hoist_checksum": mode, "ceiling": label, "ceiling_MBps": ip[k] * 1000,
                         "hoist_MBps": tp, "percent": round(100 * tp / (ip[k] * 1000), 1)})
    hb = ceilings.get("hash") or {}
    cores = ceilings.get("cores") or 1
    if mode == "both" and hb.get("md5_GBps_per_core"):
        path, rate = md5rows.engine_md5_rate(hb)
        bound = rate * 1000 * cores
        rows.append({"hoist_checksum": mode, "ceiling": f"MD5 on all {cores} cores ({path})",
                     "ceiling_MBps": round(bound, 1), "hoist_MBps": tp,
                     "percent": round(100 * tp / bound, 1)})
    return rows


def wan_conn_MBps(profile):
    """The per-connection cap (MB/s) of a shaped profile, else None."""
    from plan import PROFILES
    flags = PROFILES.get(profile, [])
    if "--conn-bandwidth" in flags:
        return float(flags[flags.index("--conn-bandwidth") + 1])
    return None


def build(plan, facts, ceilings, runs, notes, started, finished):
    ceilings = dict(ceilings)
    ceilings["cores"] = facts.get("cores")
    cells = cells_of(runs)
    cache_note = ("warm: every file was read into the page cache before its group and each "
                  "group's first round was a discarded warm-up (8 GiB groups: pre-read only)")
    return {
        "schema": SCHEMA,
        "mode": plan["mode"],
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "host": facts,
        "cache": cache_note,
        "plan": {"groups": [{k: g[k] for k in ("name", "profile", "warmup", "reps", "note")} |
                            {"configs": len(g["configs"])} for g in plan["groups"]],
                 "files": plan["files"], "headline": plan["headline"],
                 "profiles": {"LAN": "ossemu --discard",
                              "WAN": "ossemu --discard --latency 30 --conn-bandwidth 25",
                              "RGW": "single-node Ceph RGW (tests/rgw/rgw-up.sh), memstore OSD"}},
        "ceilings": ceilings,
        "cells": cells,
        "ratios": ratios(cells, ceilings),
        "runs": runs,
        "notes": list(notes),
        "plots": [],
    }


def write(out, doc):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in doc["runs"]:
            w.writerow(r)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(summary(doc))


# ------------------------------------------------------------------ summary.md

def size_txt(n):
    if n >= 1 << 30 and n % (1 << 30) == 0:
        return f"{n >> 30} GiB"
    return f"{n >> 20} MiB"


def rng(cell, m, fmt="{:.0f}"):
    s = cell.get(m) if cell else None
    if not s:
        return "–"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt.format(s["median"])
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def one(cell, m, fmt="{:.2f}"):
    v = med(cell, m)
    return "–" if v is None else fmt.format(v)


def x(v):
    return "–" if v is None else f"{v:.2f}×"


def summary(doc):
    h = doc["host"]
    L = []
    L.append(f"# hoist benchmark: {doc['started'][:10]}, {h['hostname']} ({doc['mode']})")
    L.append("")
    libs = ", ".join(f"{k} {v}" for k, v in h["libraries"].items() if v)
    L.append(f"{h['cpu_model']}, {h['cores']} cores, {h.get('mem_total_mib') or '?'} MiB RAM, "
             f"Linux {h['kernel']}, {h['os']}. {libs}. {h['tools'].get('curl') or ''}.")
    L.append("")
    bins = h.get("binaries") or {}
    peers = h.get("peers") or {}
    vers = [f"{b['version']} (sha256 {b['sha256_16']}...)" for b in bins.values() if b.get("version")]
    vers += [f"{k} {v}" for k, v in peers.items() if v]
    if vers:
        L.append("Versions: " + "; ".join(vers) + ".")
        L.append("")
    if doc["mode"] == "rgw":
        srv = h.get("server") or {}
        L.append(f"Server: a single-node Ceph RADOS Gateway on 127.0.0.1 (`tests/rgw/rgw-up.sh`: "
                 f"one mon, one OSD on {srv.get('objectstore', 'memstore')}, radosgw with beast), "
                 f"on the same 2 cores as the client; each object is deleted after its run and "
                 f"RGW's garbage collection run at once (untimed). Server CPU = utime+stime of "
                 f"the mon, OSD and radosgw PIDs over the run.")
        L.append("")
        L += rgw_section(doc)
    L.append(("Reference servers of the other modes: " if doc["mode"] == "rgw" else "Server: ") +
             "`ossemu --discard` on 127.0.0.1 (LAN), plus `--latency 30 --conn-bandwidth 25` "
             "(WAN), `--latency 100 --conn-bandwidth 10` (WAN100). Throughput = file bytes / wall time of the client process (MB/s, 10^6); "
             "CPU = client user+sys per GB (10^9 bytes) from wait4; RSS = client peak RSS. "
             "Medians of counted runs, (min–max) when they differ. Data from the page cache "
             "(warm) unless marked cold.")
    L.append("")
    cells = doc["cells"]
    for g, entry in doc["ratios"].items():
        gc = [c for c in cells if c["group"] == g]
        any_c = gc[0] if gc else None
        head = (f"{size_txt(any_c['file_bytes'])}, {any_c['part_size'] >> 20} MiB parts, "
                f"{any_c['profile']}" if any_c else "")
        L.append(f"## hoist vs peers ({g}: {head})")
        L.append("")
        L.append("How many times better hoist is: throughput = hoist/peer, CPU and RSS = peer/hoist "
                 "(above 1 favours hoist).")
        L.append("")
        L.append("| peer | checksum | jobs | throughput × (hoist crc64 / both) | "
                 "CPU-s/GB × (crc64 / both) | peak RSS × (crc64 / both) |")
        L.append("|---|---|---:|---:|---:|---:|")
        rows = {}
        for r in entry["rows"]:
            rows.setdefault((r["engine"], r["checksum"], r["jobs"]), {})[r["hoist_checksum"]] = r
        for (eng, ck, jobs), rr in rows.items():
            a, b = rr.get("crc64", {}), rr.get("both", {})
            L.append(f"| {eng} | {ck} | {jobs} | {x(a.get('throughput_x'))} / {x(b.get('throughput_x'))} | "
                     f"{x(a.get('cpu_per_GB_x'))} / {x(b.get('cpu_per_GB_x'))} | "
                     f"{x(a.get('peak_rss_x'))} / {x(b.get('peak_rss_x'))} |")
        L.append("")
        if entry["ceilings"]:
            L.append("hoist against the ceilings measured in the same run:")
            L.append("")
            L.append("| hoist | ceiling | ceiling MB/s | hoist MB/s | hoist % of ceiling |")
            L.append("|---|---|---:|---:|---:|")
            for r in entry["ceilings"]:
                L.append(f"| {r['hoist_checksum']} | {r['ceiling']} | {r['ceiling_MBps']:.0f} | "
                         f"{r['hoist_MBps']:.0f} | {r['percent']:.0f} % |")
            L.append("")
        L.append("| engine | dialect | checksum | jobs | MB/s | client CPU-s/GB | peak RSS MiB | "
                 "server CPU-s/GB | runs |")
        L.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for c in sorted(gc, key=lambda c: -(med(c, "throughput_MBps") or 0)):
            L.append(f"| {c['engine']} | {c['dialect']} | {c['checksum']} | {c['jobs']} | "
                     f"{rng(c, 'throughput_MBps')} | {rng(c, 'cpu_s_per_GB', '{:.2f}')} | "
                     f"{rng(c, 'peak_rss_MiB', '{:.0f}')} | {one(c, 'server_cpu_s_per_GB')} | "
                     f"{c['runs_counted']}{failed_txt(c)} |")
        L.append("")
    hc = doc["ceilings"]
    L.append("## Ceilings")
    L.append("")
    hb = hc.get("hash")
    if hb:
        L.append(f"- MD5 (OpenSSL): {hb['md5_GBps_per_core']:.2f} GB/s per core; CRC64 (ISA-L): "
                 f"{hb['crc64_GBps_per_core']:.2f} GB/s per core; memcpy: "
                 f"{hb['memcpy_GBps_per_core']:.2f} GB/s per core (build/hashbench).")
        L += md5rows.hashbench_lines(hb)
    ip = hc.get("iperf3")
    if ip:
        L.append(f"- Loopback TCP (iperf3, {ip['seconds']} s): 1 stream "
                 f"{gbps(ip.get('streams_1_GBps'))}, 8 streams {gbps(ip.get('streams_8_GBps'))}.")
    for c in cells:
        if c["engine"] == "curl-ceiling" and not c["group"].startswith("peers") and c["runs_counted"]:
            L.append(f"- Transport ({c['jobs']} parallel `curl -T`, {size_txt(c['file_bytes'])}, "
                     f"{c['part_size'] >> 20} MiB parts, {c['profile']}): {rng(c, 'throughput_MBps')} MB/s.")
    L.append("")
    sweeps = sorted({c["group"] for c in cells if c["group"].startswith("hoist")})
    for g in sweeps:
        gc = [c for c in cells if c["group"] == g and c["engine"] == "hoist"]
        if not gc:
            continue
        L.append(f"## hoist matrix: {g}")
        L.append("")
        L.append("| file | part | jobs | checksum | MB/s | CPU-s/GB | peak RSS MiB | server CPU-s/GB | "
                 "part p50 / p99 s | TTFB s | runs |")
        L.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for c in sorted(gc, key=lambda c: (c["file_bytes"], c["part_size"], c["checksum"], c["jobs"])):
            L.append(f"| {size_txt(c['file_bytes'])} | {c['part_size'] >> 20} MiB | {c['jobs']} | "
                     f"{c['checksum']} | {rng(c, 'throughput_MBps')} | {rng(c, 'cpu_s_per_GB', '{:.2f}')} | "
                     f"{rng(c, 'peak_rss_MiB', '{:.0f}')} | {one(c, 'server_cpu_s_per_GB')} | "
                     f"{one(c, 'part_p50_s', '{:.3f}')} / {one(c, 'part_p99_s', '{:.3f}')} | "
                     f"{one(c, 'ttfb_s', '{:.3f}')} | {c['runs_counted']}{failed_txt(c)} |")
        L.append("")
    L += bars_section(cells)
    cold = [c for c in cells if c["cache"] == "cold"]
    if cold:
        L.append("## Cold cache")
        L.append("")
        for c in cold:
            warmc = [w for w in cells if w["engine"] == c["engine"] and w["cache"] == "warm"
                     and w["file_bytes"] == c["file_bytes"] and w["part_size"] == c["part_size"]
                     and w["jobs"] == c["jobs"] and w["checksum"] == c["checksum"]
                     and w["profile"] == c["profile"]]
            wtxt = f"; warm: {rng(warmc[0], 'throughput_MBps')} MB/s" if warmc else ""
            L.append(f"- {c['engine']} {size_txt(c['file_bytes'])}, {c['part_size'] >> 20} MiB parts, "
                     f"jobs {c['jobs']}, {c['checksum']}, page cache dropped first: "
                     f"{rng(c, 'throughput_MBps')} MB/s, {one(c, 'cpu_s_per_GB')} CPU-s/GB (one run){wtxt}.")
        L.append("")
    L += md5rows.section(doc)
    L.append("## Plan and notes")
    L.append("")
    for g in doc["plan"]["groups"]:
        L.append(f"- {g['name']} ({g['profile']}): {g['configs']} configurations, {g['warmup']} warm-up "
                 f"+ {g['reps']} counted rounds, alternating. {g['note']}")
    for n in derived_notes(doc) + doc["notes"]:
        L.append(f"- {n}")
    L.append(f"- Total time {doc['duration_s']:.0f} s.")
    if doc.get("plots"):
        L.append("")
        L.append("Plots: " + ", ".join(f"[{p}]({p})" for p in doc["plots"]))
    L.append("")
    return "\n".join(L)


def derived_notes(doc):
    """Facts the runs themselves prove, stated so a reader need not dig."""
    out = []
    runs = doc["runs"]
    if any(r["engine"] == "aws-c-s3" and r["ok"] for r in runs):
        out.append("aws-c-s3 ran against a second, identically configured ossemu on 127.0.0.1:80 "
                   "(python3-awscrt 0.16 has no port option and always dials port 80).")
    if any(r["cache"] == "cold" for r in runs):
        out.append("The page cache could be dropped here (`echo 3 > /proc/sys/vm/drop_caches`): "
                   "the cold run read its file from disk.")
    return out


def failed_txt(c):
    t = ""
    if c.get("runs_failed"):
        t += f", {c['runs_failed']} failed"
    if c.get("runs_unverified"):
        t += f", {c['runs_unverified']} unverified"
    return t


def gbps(v):
    return "–" if v is None else f"{v:.2f} GB/s"


# ------------------------------------------------------------------ README block

README_START = "<!-- bench:latest:start (generated by bench/harness/run.py --readme) -->"
README_END = "<!-- bench:latest:end -->"

LABELS = {
    "curl-ceiling": "curl ceiling ({jobs} x `curl -T`, no hashing)",
    "aws-c-s3": "aws-c-s3 (python3-awscrt, {jobs} connections, no checksums)",
    "aws-cli": "aws-cli (SHA-256 of every payload byte)",
    "rclone": "rclone (whole-file MD5 pre-pass)",
    "rclone-nocksum": "rclone --s3-disable-checksum",
    "ali-oss": "ali-oss multipartUpload",
    "hoist-s3": "hoist --checksum crc64, S3 dialect",
    "hoist-fixed": "hoist --checksum crc64 --fixed-jobs --jobs {jobs}",
}


def _engine_label(c):
    if c["engine"] == "hoist":
        return f"hoist --checksum {c['checksum']}"
    return LABELS.get(c["engine"], c["engine"]).format(jobs=c["jobs"])


def readme_block(doc, rel):
    """The README's "latest results": the peers tables with ratios, the
    ceilings and the engine issue's bar, from one results set."""
    h = doc["host"]
    cells = doc["cells"]
    bins = h.get("binaries") or {}
    ver = ", ".join(b["version"] for b in bins.values() if b.get("version"))
    L = [README_START, ""]
    L.append(f"Baseline: [`{rel}/`]({rel}/summary.md), a `{doc['mode']}` run of "
             f"{doc['duration_s'] / 60:.0f} minutes on {doc['started'][:10]}: {h['cpu_model']}, "
             f"{h['cores']} cores, {h['os']}, Linux {h['kernel']}; {ver}. Same file from the page "
             f"cache, same part size, same ossemu, engines alternating; medians of the counted runs. "
             f"Ratios are hoist --checksum crc64 against each engine (above 1 favours hoist).")
    L.append("")
    for g in doc["ratios"]:
        gc = [c for c in cells if c["group"] == g and c["runs_counted"]]
        h64 = find(gc, engine="hoist", checksum="crc64")
        if not gc or not h64:
            continue
        any_c = gc[0]
        prof = any_c["profile"]
        if prof == "WAN":
            prof = "WAN (30 ms, 25 MB/s per connection)"
        L.append(f"| {prof}: {size_txt(any_c['file_bytes'])}, {any_c['part_size'] >> 20} MiB parts, "
                 f"jobs {h64['jobs']} | MB/s | client CPU-s/GB | peak RSS MiB | "
                 f"hoist faster | hoist less CPU/GB | hoist less RSS |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        ht, hc, hr = med(h64, "throughput_MBps"), med(h64, "cpu_s_per_GB"), med(h64, "peak_rss_MiB")
        order = sorted(gc, key=lambda c: (c is not h64, not c["engine"].startswith("hoist"),
                                          -(med(c, "throughput_MBps") or 0)))
        for c in order:
            t, cp, r = med(c, "throughput_MBps"), med(c, "cpu_s_per_GB"), med(c, "peak_rss_MiB")
            name = _engine_label(c)
            if c is h64:
                L.append(f"| **{name}** | **{t:.0f}** | **{cp:.2f}** | **{r:.0f}** | | | |")
                continue
            if c["engine"] == "curl-ceiling":
                ratio = f"(hoist = {100 * ht / t:.0f} %)" if t else "–"
                if c["profile"] != "LAN":
                    # One process per shaped connection: a reference, not a ceiling.
                    name = f"curl reference ({c['jobs']} x `curl -T`, one process per connection)"
                    ratio = ""
                L.append(f"| {name} | {t:.0f} | {cp:.2f} | {r:.0f} | {ratio} | | |")
                continue
            if c["engine"].startswith("hoist"):
                L.append(f"| {name} | {t:.0f} | {cp:.2f} | {r:.0f} | | | |")
                continue
            L.append(f"| {name} | {t:.0f} | {cp:.2f} | {r:.0f} | {x(ht / t if t else None)} | "
                     f"{x(cp / hc if hc else None)} | {x(r / hr if hr else None)} |")
        L.append("")
    hc_ = doc["ceilings"]
    parts = []
    hb = hc_.get("hash")
    if hb:
        parts.append(f"MD5 {hb['md5_GBps_per_core']:.2f} GB/s per core (OpenSSL), CRC64 "
                     f"{hb['crc64_GBps_per_core']:.1f} GB/s per core (ISA-L), memcpy "
                     f"{hb['memcpy_GBps_per_core']:.1f} GB/s per core")
    ip = hc_.get("iperf3")
    if ip:
        parts.append(f"loopback TCP (iperf3) {gbps(ip.get('streams_1_GBps'))} with 1 stream, "
                     f"{gbps(ip.get('streams_8_GBps'))} with 8")
    if parts:
        L.append("Ceilings in the same run: " + "; ".join(parts) + ".")
    head = doc["plan"]["headline"]
    hg = [c for c in cells if c["group"] == head and c["runs_counted"]]
    h64 = find(hg, engine="hoist", checksum="crc64")
    cu = find(hg, engine="curl-ceiling")
    sweep = [c for c in cells if c["group"].startswith("hoist") and c["engine"] == "hoist"
             and c["profile"] == "LAN" and c["checksum"] == "crc64" and c["runs_counted"]]
    j256 = [med(c, "peak_rss_MiB") for c in sweep if c["jobs"] == 256 and med(c, "peak_rss_MiB")]
    if h64 and cu and med(cu, "throughput_MBps"):
        line = (f"The engine issue's bar (>= 80 % of the transport ceiling with CRC64 only, peak RSS "
                f"under 64 MiB): hoist reaches {100 * med(h64, 'throughput_MBps') / med(cu, 'throughput_MBps'):.0f} % "
                f"of {cu['jobs']} parallel `curl -T` ({med(cu, 'throughput_MBps'):.0f} MB/s) with "
                f"{med(h64, 'peak_rss_MiB'):.0f} MiB at jobs {h64['jobs']}")
        if j256:
            line += f" and at most {max(j256):.0f} MiB at jobs 256"
        L.append("")
        L.append(line + ".")
    best = max(sweep, key=lambda c: med(c, "throughput_MBps") or 0, default=None)
    if best:
        L.append("")
        L.append(f"Best LAN cell: {size_txt(best['file_bytes'])}, {best['part_size'] >> 20} MiB parts, "
                 f"jobs {best['jobs']}: {med(best, 'throughput_MBps'):.0f} MB/s at "
                 f"{med(best, 'cpu_s_per_GB'):.2f} CPU-s/GB and {med(best, 'peak_rss_MiB'):.0f} MiB.")
    for c in cells:
        if c["cache"] == "cold" and c["runs_counted"]:
            L.append("")
            L.append(f"Cold cache (page cache dropped, one run): {size_txt(c['file_bytes'])}, "
                     f"jobs {c['jobs']}, {c['checksum']}: {med(c, 'throughput_MBps'):.0f} MB/s.")
    L += ["", README_END]
    return "\n".join(L)


RGW_START = "<!-- bench:rgw:start (generated by bench/harness/run.py --readme) -->"
RGW_END = "<!-- bench:rgw:end -->"


def ceph_version(h):
    """"ceph version 16.2.15 (<sha>) pacific (stable)" -> "16.2.15 (pacific)"."""
    v = ((h.get("server") or {}).get("version") or "").split()
    if len(v) >= 5 and v[:2] == ["ceph", "version"]:
        return f"{v[2]} ({v[4]})"
    return " ".join(v) or "?"


def rgw_readme_block(doc, rel):
    """The README's RGW results: the lead of an rgw run's summary.md."""
    h = doc["host"]
    bins = h.get("binaries") or {}
    ver = ", ".join(b["version"] for b in bins.values() if b.get("version"))
    L = [RGW_START, ""]
    L.append(f"Baseline: [`{rel}/`]({rel}/summary.md), an `rgw` run of "
             f"{doc['duration_s'] / 60:.1f} minutes on {doc['started'][:10]}: {h['cpu_model']}, "
             f"{h['cores']} cores, {h['os']}; {ver}; Ceph RGW {ceph_version(h)}, "
             f"{(h.get('server') or {}).get('objectstore') or 'memstore'} OSD. "
             f"Medians of 3 counted runs, (min–max).")
    L.append("")
    L += rgw_section(doc)[4:]  # the tables, without the section's heading and prose
    L += [RGW_END]
    return "\n".join(L)


def update_readme(path, doc, rel):
    """Replaces the generated block of bench/README.md (the rgw block for
    an rgw run); False if the markers are missing."""
    with open(path) as f:
        text = f.read()
    start, end, block = README_START, README_END, readme_block
    if doc.get("mode") == "rgw":
        start, end, block = RGW_START, RGW_END, rgw_readme_block
    i, j = text.find(start), text.find(end)
    if i < 0 or j < 0:
        return False
    text = text[:i] + block(doc, rel) + text[j + len(end):]
    with open(path, "w") as f:
        f.write(text)
    return True
