"""plots - the SVG figures of a results set, drawn with gnuplot.

Owns: throughput vs jobs (one figure per part size: a line per file size,
checksum mode and profile, median with min-max bars, the curl ceiling as a
dashed line), CPU-seconds per GB by engine and peak RSS by engine (bars from
the headline peers group, with min-max bars), and the part-latency CDF.

The CDF is empirical when hoist's --json carries per-part latencies; when it
only reports p50 and p99, those two quantiles are plotted as points per
configuration and the figure says so in its title.

gnuplot reads data from files in a temporary directory; only the SVGs land
in the results directory.  Nothing here is fatal: a missing gnuplot means no
plots and a note.
"""
import os
import shutil
import subprocess
import tempfile

from report import med

TERM = "set terminal svg size 960,540 dynamic enhanced font 'Helvetica,12' background rgb 'white'"


def _gp(script, tmp):
    path = os.path.join(tmp, "plot.gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[:300])


def _q(s):
    return '"' + str(s).replace('"', "'") + '"'


def _s(c, m, k):
    v = c.get(m)
    return v[k] if v else 0


def throughput_vs_jobs(out, doc, tmp):
    cells = [c for c in doc["cells"] if c["group"].startswith("hoist") and c["engine"] == "hoist"
             and c["runs_counted"] and c.get("throughput_MBps")]
    made = []
    for part in sorted({c["part_size"] for c in cells}):
        pc = [c for c in cells if c["part_size"] == part]
        series = {}
        for c in pc:
            label = f"{c['file_bytes'] >> 20} MiB, {c['checksum']}, {c['profile']}"
            if c["file_bytes"] >= 1 << 30:
                label = f"{c['file_bytes'] >> 30} GiB, {c['checksum']}, {c['profile']}"
            series.setdefault(label, []).append(c)
        plots = []
        for i, (label, cs) in enumerate(sorted(series.items())):
            dat = os.path.join(tmp, f"tp-{part}-{i}.dat")
            with open(dat, "w") as f:
                for c in sorted(cs, key=lambda c: c["jobs"]):
                    f.write(f"{c['jobs']} {_s(c, 'throughput_MBps', 'median')} "
                            f"{_s(c, 'throughput_MBps', 'min')} {_s(c, 'throughput_MBps', 'max')}\n")
            plots.append(f"{_q(dat)} using 1:2:3:4 with yerrorlines lw 2 pt 7 title {_q(label)}")
        ceil = [c for c in doc["cells"] if c["engine"] == "curl-ceiling" and c["part_size"] == part
                and c["profile"] == "LAN" and c["runs_counted"]]
        if ceil:
            v = max(med(c, "throughput_MBps") or 0 for c in ceil)
            plots.append(f"{v} with lines dt 2 lw 2 lc rgb '#555555' "
                         f"title 'transport ceiling (parallel curl -T), LAN'")
        name = f"throughput_vs_jobs_{part >> 20}MiB.svg"
        _gp(f"""{TERM}
set output {_q(os.path.join(out, name))}
set title "hoist throughput vs jobs, {part >> 20} MiB parts (median, min-max)"
set xlabel "jobs (parts in flight)"
set ylabel "MB/s"
set logscale x 2
set xrange [4:1024]
set yrange [0:*]
set grid
set key outside right top
plot {", ".join(plots)}
""", tmp)
        made.append(name)
    return made


def headline_cells(doc):
    g = doc["plan"]["headline"]
    cs = [c for c in doc["cells"] if c["group"] == g and c["runs_counted"]]
    return sorted(cs, key=lambda c: (not c["engine"].startswith("hoist"), c["engine"], c["checksum"]))


def size_label(n):
    return f"{n >> 30} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"


def _label(c):
    # Two lines under each bar: engine, then what it computes.
    return f"{c['engine']}\\n{c['checksum']}"


def bars(out, doc, tmp, name, title, ylabel, metrics):
    cs = headline_cells(doc)
    if not cs:
        return []
    dat = os.path.join(tmp, name + ".dat")
    with open(dat, "w") as f:
        for c in cs:
            row = [_q(_label(c))]
            for m in metrics:
                row += [str(_s(c, m, "median")), str(_s(c, m, "min")), str(_s(c, m, "max"))]
            f.write(" ".join(row) + "\n")
    cols = []
    for i, (m, label) in enumerate(metrics.items()):
        b = 2 + 3 * i
        xt = ":xtic(1)" if i == 0 else ""
        cols.append(f"{_q(dat)} using {b}:{b + 1}:{b + 2}{xt} title {_q(label)}")
    g = doc["plan"]["headline"]
    _gp(f"""{TERM}
set output {_q(os.path.join(out, name))}
set title "{title} ({g}; median, min-max)"
set ylabel "{ylabel}"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set yrange [0:*]
set grid ytics
set xtics nomirror font ',10'
set key top left
plot {", ".join(cols)}
""", tmp)
    return [name]


def latency_cdf(out, doc, tmp):
    runs = [r for r in doc["runs"] if r["engine"].startswith("hoist") and r["counted"] and r["ok"]]
    with_lat = [r for r in runs if r.get("part_latencies_s")]
    name = "part_latency_cdf.svg"
    plots = []
    if with_lat:
        # The sweep groups only (not the peers or cold runs), and at most 8
        # curves so the figure stays legible: 8 MiB parts of the first file
        # size first, crc64 before both, LAN before WAN, by jobs.
        first = doc["plan"]["files"][0]
        # No sweep in mode rgw: there the peers group's hoist runs are all.
        sweep = [r for r in with_lat if r["group"].startswith("hoist")] or with_lat
        series = {}
        for r in sweep:
            k = (r["part_size"] != 8 << 20, r["file_bytes"] != first, r["checksum"] != "crc64",
                 r["profile"] != "LAN", r["jobs"], r["file_bytes"], r["part_size"], r["checksum"],
                 r["profile"])
            series.setdefault(k, []).extend(r["part_latencies_s"])
        for i, k in enumerate(sorted(series)[:8]):
            lat = sorted(series[k])
            jobs, size, part, ck, prof = k[4:]
            label = f"{prof} jobs {jobs} {ck} ({size_label(size)}, {part >> 20} MiB parts)"
            dat = os.path.join(tmp, f"cdf-{i}.dat")
            with open(dat, "w") as f:
                for j, v in enumerate(lat):
                    f.write(f"{v} {(j + 1) / len(lat)}\n")
            plots.append(f"{_q(dat)} using 1:2 with steps lw 2 title {_q(label)}")
        title = "hoist part latency CDF (every part of every counted run)"
    else:
        pts = [r for r in runs if r.get("part_p50_s") is not None and r.get("part_p99_s") is not None]
        if not pts:
            return []
        series = {}
        for r in pts:
            label = f"{r['profile']} p{r['part_size'] >> 20}MiB j{r['jobs']} {r['checksum']}"
            series.setdefault(label, []).append(r)
        for i, (label, rs) in enumerate(sorted(series.items())[:10]):
            dat = os.path.join(tmp, f"q-{i}.dat")
            with open(dat, "w") as f:
                for r in rs:
                    f.write(f"{r['part_p50_s']} 0.5\n{r['part_p99_s']} 0.99\n\n")
            plots.append(f"{_q(dat)} using 1:2 with linespoints lw 1 pt 7 title {_q(label)}")
        title = "hoist part latency: p50 and p99 per run (the CLI reports no per-part list)"
    _gp(f"""{TERM}
set output {_q(os.path.join(out, name))}
set title "{title}"
set xlabel "part latency, seconds (log)"
set ylabel "fraction of parts"
set logscale x 10
set yrange [0:1.02]
set grid
set key outside right top
plot {", ".join(plots)}
""", tmp)
    return [name]


def server_label(doc):
    if doc.get("mode") == "rgw":
        return "server (Ceph RGW: mon+osd+radosgw)"
    return "server (ossemu)"


def draw(out, doc):
    """Draws every figure it has data for; returns (names, note or "")."""
    if not shutil.which("gnuplot"):
        return [], "gnuplot is not installed: no plots"
    made, errors = [], []
    with tempfile.TemporaryDirectory(prefix="hoist-plots-") as tmp:
        jobs = [
            lambda: throughput_vs_jobs(out, doc, tmp),
            lambda: bars(out, doc, tmp, "cpu_per_gb.svg", "CPU-seconds per GB by engine",
                         "CPU-seconds per GB", {"cpu_s_per_GB": "client (wait4 user+sys)",
                                                "server_cpu_s_per_GB": server_label(doc)}),
            lambda: bars(out, doc, tmp, "peak_rss.svg", "Peak RSS by engine", "MiB",
                         {"peak_rss_MiB": "client peak RSS (largest process)"}),
            lambda: latency_cdf(out, doc, tmp),
        ]
        for j in jobs:
            try:
                made += j()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                errors.append(str(e)[:200])
    return made, ("plotting: " + "; ".join(errors)) if errors else ""
