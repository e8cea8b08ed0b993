#!/bin/sh
# bench/rss-ceiling.sh - issue 3's "Measure and report": how close hoist
# gets to the transport ceiling, and its peak memory.  A benchmark, not a
# test: it prints a table and never fails on a number.
#
# On this machine, a warm 2 GiB file (in the page cache) is sent to
# `ossemu --discard` (no disk on the server side) over loopback:
#   ceiling   8 parallel `curl -T` PUT UploadParts of the same bytes (the
#             file split into 8 files of 256 MiB): the transport ceiling
#   crc64     hoist cp --checksum crc64
#   md5+crc64 hoist cp (default: Content-MD5 and CRC64).  The server
#             then checks each part's MD5, as OSS does; its ceiling is
#             measured again with `ossemu --md5-etags`, so that the curls
#             (which send no Content-MD5) cost the server the same MD5 work.
#             On 2 cores client and server MD5 share the CPUs.
#   jobs 256  hoist cp --jobs 256 --fixed-jobs: peak RSS with 256 parts in flight
# Peak RSS comes from /usr/bin/time -f %M.  Each configuration runs RUNS
# times (default 3); the first is discarded as warm-up and the median of
# the rest is reported.  The bar (issue 3): crc64 >= 80 % of the ceiling,
# peak RSS < 64 MiB.
#
# Usage: sh bench/rss-ceiling.sh   (SIZE_MIB=2048 RUNS=3 JOBS=64)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hoist="$top/build/hoist"
ossemu="$top/build/ossemu"
py=/usr/bin/python3
size_mib=${SIZE_MIB:-2048}
runs=${RUNS:-3}
jobs=${JOBS:-64}
nsplit=8

for b in "$hoist" "$ossemu" /usr/bin/time curl; do
	[ -x "$b" ] || command -v "$b" >/dev/null 2>&1 || { echo "rss-ceiling: $b is missing" >&2; exit 1; }
done
if [ $((size_mib % nsplit)) != 0 ]; then
	echo "rss-ceiling: SIZE_MIB must be a multiple of $nsplit" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-rss.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME ARGS...: an ossemu on a free port; sets $url.
start_server() {
	name=$1
	shift
	"$ossemu" --host 127.0.0.1 --port 0 --bucket bkt --key ak:sk --anonymous --discard "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids="$pids $!"
	url=""
	i=0
	while [ $i -lt 100 ] && [ -z "$url" ]; do
		sleep 0.1
		url=$(sed -n 's/^ossemu listening on //p' "$tmp/$name.out" | head -1)
		i=$((i + 1))
	done
	[ -n "$url" ] || { echo "rss-ceiling: ossemu did not start" >&2; cat "$tmp/$name.err" >&2; exit 1; }
}

now() { date +%s.%N; }

echo "rss-ceiling: making a ${size_mib} MiB file and its $nsplit pieces, warming the page cache"
head -c "$((size_mib * 1048576))" /dev/urandom >"$tmp/file"
split -n "$nsplit" -d "$tmp/file" "$tmp/piece."
cat "$tmp/file" "$tmp"/piece.* >/dev/null

# ceiling URL: one multipart upload, 8 parts sent at once by 8 curls.
# Prints the seconds taken.
ceiling() {
	cu=$1
	id=$(curl -sS -X POST "$cu/bkt/ceiling?uploads" | sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p')
	[ -n "$id" ] || { echo "rss-ceiling: Initiate failed" >&2; exit 1; }
	t0=$(now)
	cpids=""
	n=1
	for piece in "$tmp"/piece.*; do
		curl -sS -o /dev/null -T "$piece" "$cu/bkt/ceiling?partNumber=$n&uploadId=$id" &
		cpids="$cpids $!"
		n=$((n + 1))
	done
	for p in $cpids; do wait "$p"; done
	t1=$(now)
	curl -sS -o /dev/null -X DELETE "$cu/bkt/ceiling?uploadId=$id"
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

# hoist_run URL ARGS...: prints "seconds peak_rss_kib" (seconds from
# hoist's own JSON result; RSS from /usr/bin/time).
hoist_run() {
	hu=$1
	shift
	OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk /usr/bin/time -f "%M" -o "$tmp/time" \
		"$hoist" cp "$tmp/file" oss://bkt/bench --endpoint "$hu" --json --quiet --no-resume \
		"$@" >"$tmp/json" 2>"$tmp/hoist.err" || {
		echo "rss-ceiling: hoist failed: $(tail -1 "$tmp/hoist.err")" >&2
		echo "nan 0"
		return
	}
	secs=$("$py" -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["seconds"])' "$tmp/json")
	echo "$secs $(tail -1 "$tmp/time")"
}

# median of the values on stdin, the first line (warm-up) dropped.
median() {
	"$py" -c '
import sys, statistics
v = [float(x.split()[0]) for x in sys.stdin.read().split("\n") if x.strip()]
v = v[1:] if len(v) > 1 else v
v = [x for x in v if x == x]
print("%.3f" % statistics.median(v) if v else "nan")'
}
maxcol2() { awk 'BEGIN { m = 0 } { if ($2 > m) m = $2 } END { print m }'; }

start_server plain
plain=$url
start_server md5 --md5-etags
md5=$url

echo "rss-ceiling: $runs runs each (first discarded), median seconds"
: >"$tmp/r.ceiling"; : >"$tmp/r.ceiling_md5"; : >"$tmp/r.crc64"; : >"$tmp/r.both"; : >"$tmp/r.j256"
r=0
while [ $r -lt "$runs" ]; do
	ceiling "$plain" >>"$tmp/r.ceiling"
	hoist_run "$plain" --checksum crc64 --jobs "$jobs" >>"$tmp/r.crc64"
	ceiling "$md5" >>"$tmp/r.ceiling_md5"
	hoist_run "$md5" --checksum both --jobs "$jobs" >>"$tmp/r.both"
	hoist_run "$plain" --checksum crc64 --jobs 256 --fixed-jobs >>"$tmp/r.j256"
	r=$((r + 1))
done

c=$(median <"$tmp/r.ceiling")
cm=$(median <"$tmp/r.ceiling_md5")
row() { # label seconds ceiling-seconds rss-kib
	awk -v l="$1" -v s="$2" -v c="$3" -v rss="$4" -v mib="$size_mib" 'BEGIN {
		if (s != s + 0 || s <= 0) { printf "%-34s %8s\n", l, "failed"; exit }
		pct = (c > 0 && c == c + 0) ? sprintf("%5.0f %%", 100 * c / s) : "    -"
		r = (rss > 0) ? sprintf("%7.1f", rss / 1024) : "      -"
		printf "%-34s %8.2f %9.0f %10s %12s\n", l, s, mib / s, pct, r }'
}
echo
echo "host: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "file: $size_mib MiB, warm; server: ossemu --discard on loopback"
printf "%-34s %8s %9s %10s %12s\n" "run" "seconds" "MiB/s" "% ceiling" "peak RSS MiB"
row "curl -T x$nsplit UploadPart (ceiling)" "$c" "$c" 0
row "hoist --checksum crc64 --jobs $jobs" "$(median <"$tmp/r.crc64")" "$c" "$(maxcol2 <"$tmp/r.crc64")"
row "curl -T x$nsplit, server MD5 (ceiling)" "$cm" "$cm" 0
row "hoist md5+crc64 --jobs $jobs" "$(median <"$tmp/r.both")" "$cm" "$(maxcol2 <"$tmp/r.both")"
row "hoist --checksum crc64 --jobs 256 --fixed-jobs" "$(median <"$tmp/r.j256")" "$c" "$(maxcol2 <"$tmp/r.j256")"
echo
echo "bar: crc64 >= 80 % of the ceiling; peak RSS < 64 MiB"
