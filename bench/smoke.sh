#!/bin/sh
# bench/smoke.sh - a ~10 s run of the benchmark harness, for `make check`.
#
# Runs `bench/harness.sh smoke` (a 16 MiB file, hoist and the curl transport
# ceiling, one run each, no peers, no port 80, loopback only) into a temporary
# directory, then checks that results.json parses and has the expected keys,
# that the hoist run succeeded and was verified on the server, and that the
# other outputs exist.  It asserts nothing about speed.  Prints TAP.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$(mktemp -d "${TMPDIR:-/tmp}/hoist-bench-smoke.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
sh bench/harness.sh smoke --out "$out/res" >"$out/log" 2>&1
rc=$?
if [ "$rc" = 0 ]; then
	echo "ok 1 - harness smoke run exits 0"
else
	echo "not ok 1 - harness smoke run exits 0 (exit $rc)"
	tail -20 "$out/log" | sed 's/^/#   /'
fi
/usr/bin/python3 - "$out/res" "$top" <<'PY'
import json, os, sys
res, top = sys.argv[1], sys.argv[2]
n = 1
def ok(cond, name, detail=""):
    global n
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {name}")
    if not cond and detail:
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
    return cond
try:
    with open(os.path.join(res, "results.json")) as f:
        doc = json.load(f)
    ok(True, "results.json parses")
except (OSError, ValueError) as e:
    ok(False, "results.json parses", e)
    doc = {}
want = ["schema", "mode", "started", "finished", "host", "plan", "ceilings", "cells", "ratios",
        "runs", "notes", "plots"]
missing = [k for k in want if k not in doc]
ok(not missing, "results.json has the top-level keys", f"missing: {missing}")
host = doc.get("host", {})
ok(all(k in host for k in ("cpu_model", "cores", "kernel", "libraries")), "host facts recorded", host)
run_keys = ["engine", "dialect", "file_bytes", "part_size", "jobs", "checksum", "profile", "cache",
            "counted", "ok", "wall_s", "throughput_MBps", "client_cpu_s", "cpu_s_per_GB",
            "peak_rss_MiB", "server_cpu_s"]
runs = doc.get("runs", [])
bad = [(r.get("engine"), [k for k in run_keys if k not in r]) for r in runs
       if any(k not in r for k in run_keys)]
ok(runs and not bad, "every run has the expected fields", bad or "no runs")
hoist = [r for r in runs if r.get("engine") == "hoist"]
ok(hoist and all(r["ok"] for r in hoist), "the hoist run succeeded",
   [r.get("error") for r in hoist] or "no hoist run")
ok(hoist and all(r.get("verified") for r in hoist), "the hoist upload was verified on the server",
   [r.get("verify_problems") for r in hoist])
ok(hoist and all(k in hoist[0] for k in ("ttfb_s", "part_p50_s", "part_p99_s", "engine_seconds")),
   "hoist's --json stats were read (ttfb, part p50/p99, seconds)", hoist[0] if hoist else "")
cells = doc.get("cells", [])
ok(any(c.get("engine") == "hoist" and "throughput_MBps" in c for c in cells),
   "a hoist cell with a throughput median")
curl = [r for r in runs if r.get("engine") == "curl-ceiling"]
ok(curl and all(r["ok"] for r in curl), "the curl transport ceiling ran",
   [r.get("error") for r in curl] or "not run (curl missing?)")
for name in ("results.csv", "summary.md"):
    p = os.path.join(res, name)
    ok(os.path.exists(p) and os.path.getsize(p) > 0, f"{name} written")
leaks = []
for name in os.listdir(res):
    with open(os.path.join(res, name), errors="replace") as f:
        if top in f.read():
            leaks.append(name)
ok(not leaks, "no absolute path of the checkout in the outputs", leaks)
print(f"1..{n}")
PY
