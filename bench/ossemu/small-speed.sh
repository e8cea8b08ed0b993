#!/bin/sh
# bench/ossemu/small-speed.sh - how fast ossemu takes many small PutObjects
# and lists them.
#
# Starts ossemu --anonymous with a data directory on tmpfs (/dev/shm), then
# STREAMS `curl` processes each PUT their share of FILES objects of
# SIZE_KIB KiB over one keep-alive connection (one curl config file of
# url/upload-file pairs per process), and reports objects per second and
# the server's CPU time.  Then one client lists the whole bucket by pages
# of 1,000 keys (ListObjectsV2, continuation tokens, keep-alive) and
# reports pages per second; every key must come back, in order.
# A benchmark, not a test: nothing fails below a threshold.
#
# Usage: sh bench/ossemu/small-speed.sh [FILES] [SIZE_KIB] [STREAMS] [-- ossemu flags...]
#   defaults: 100000 files of 16 KiB, 8 streams.  OSSEMU_BIN overrides
#   build/ossemu.  Hold the bench lock:
#   flock /tmp/hoist-bench.lock sh bench/ossemu/small-speed.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
files=${1:-100000}
size_kib=${2:-16}
streams=${3:-8}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
. "$(dirname "$0")/bench-lib.sh"
bench_setup small
head -c $((size_kib * 1024)) /dev/urandom > "$tmp/body"
bench_start "$@"

# One curl config per stream: keys d<stream>/<n>, spread over 50 "directories".
s=0
while [ $s -lt "$streams" ]; do
	awk -v s="$s" -v S="$streams" -v F="$files" -v u="$url" -v b="$tmp/body" 'BEGIN {
		for (n = s; n < F; n += S)
			printf "url = \"%s/bench/dir%02d/f%07d\"\nupload-file = \"%s\"\noutput = /dev/null\n", u, n % 50, n, b
	}' > "$tmp/cfg.$s"
	s=$((s + 1))
done

cpu0=$(server_cpu)
t0=$(now)
s=0
kids=""
while [ $s -lt "$streams" ]; do
	curl -s -K "$tmp/cfg.$s" -w '%{http_code}\n' > "$tmp/codes.$s" &
	kids="$kids $!"
	s=$((s + 1))
done
for j in $kids; do
	wait "$j"
done
t1=$(now)
cpu1=$(server_cpu)
bad=$(cat "$tmp"/codes.* | grep -vc '^200$' || true)
awk -v f="$files" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v k="$size_kib" \
	-v s="$streams" 'BEGIN {
	dt = t1 - t0; cpu = c1 - c0
	printf "ossemu PutObject: %d x %d KiB over %d keep-alive curls in %.2f s = %.0f objects/s; " \
	       "server CPU %.2f s (%.0f us/object)\n", f, k, s, dt, f / dt, cpu, cpu / f * 1e6
}'
[ "$bad" = 0 ] || { echo "small-speed: $bad PutObject(s) did not answer 200" >&2; exit 1; }

/usr/bin/python3 - "$url" "$files" "$pid" "$hz" <<'EOF'
import http.client, sys, time, urllib.parse
import xml.etree.ElementTree as ET
url, files, pid, hz = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
def cpu():
    f = open(f"/proc/{pid}/stat").read().split()
    return (int(f[13]) + int(f[14])) / hz
keys, token, pages = [], None, 0
c0, t0 = cpu(), time.time()
while True:
    q = {"list-type": "2", "max-keys": "1000"}
    if token:
        q["continuation-token"] = token
    # x-amz-* makes the unsigned request S3-dialect (max-keys up to 1000 by default too).
    c.request("GET", "/bench?" + urllib.parse.urlencode(q), headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    r = c.getresponse()
    doc = ET.fromstring(r.read())
    assert r.status == 200, doc
    keys += [e.findtext(ns + "Key") for e in doc.iter(ns + "Contents")]
    pages += 1
    if doc.findtext(ns + "IsTruncated") != "true":
        break
    token = doc.findtext(ns + "NextContinuationToken")
dt, dc = time.time() - t0, cpu() - c0
ok = len(keys) == files and keys == sorted(keys)
print(f"ossemu ListObjectsV2: {len(keys)} keys in {pages} pages of 1000 in {dt:.2f} s = "
      f"{pages / dt:.0f} pages/s ({dt / pages * 1000:.1f} ms/page, client parsing included); "
      f"server CPU {dc:.2f} s ({dc / pages * 1000:.2f} ms/page){'' if ok else '; WRONG LISTING'}")
sys.exit(0 if ok else 1)
EOF
