#!/bin/sh
# bench/download-speed.sh - hoist cp oss://... FILE against the transport
# ceiling of 8 parallel curl range GETs (issue 15's bar: >= 90 % of it, at
# no more CPU-s/GB).
#
# Starts ossemu on a tmpfs data directory (/dev/shm), stores one object of
# SIZE_MIB MiB, then alternates ROUNDS times: 8 curl processes each
# fetching 1/8 of the object with a Range into its own tmpfs file, and
# `hoist cp` of the object into a tmpfs file (plus, with JOBS256=1, hoist
# at --jobs 256 --fixed-jobs for the peak-RSS bar, and with PEERS=1 the
# peers' downloads of the same object: `aws s3 cp --no-sign-request` and
# `rclone copyto --multi-thread-streams 16`, anonymous, and aws-c-s3's
# GET_OBJECT through bench/peers/crt-download.py, signed, when port 80 is
# free: python3-awscrt 0.16 always dials port 80, so the server listens
# there then).
# WAN=1 runs against `ossemu --latency 30 --conn-bandwidth 25`.  The first round is
# discarded (warm-up); prints each run and the medians: MB/s (10^6),
# client CPU-s/GB (10^9), hoist's peak RSS.  The hoist output is compared
# with the object (cmp) once.  A benchmark: nothing fails below a bar.
#
# Usage: flock /tmp/hoist-bench.lock sh bench/download-speed.sh [SIZE_MIB] [ROUNDS] [-- hoist flags]
#   defaults: 2048 MiB, 4 rounds
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
hoist=${HOIST_BIN:-$top/build/hoist}
size_mib=${1:-2048}
rounds=${2:-4}
[ $# -ge 2 ] && shift 2 || shift $#
[ "${1:-}" = "--" ] && shift
. "$top/bench/ossemu/bench-lib.sh"
bench_setup download-speed
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$tmp/obj"
# aws-c-s3 (python3-awscrt 0.16) dials port 80 whatever the Host header
# says: with PEERS=1 the server listens there when the port is free.
crt=0
if [ "${PEERS:-0}" = 1 ] && /usr/bin/python3 -c 'import awscrt.s3' 2>/dev/null; then
	if /usr/bin/python3 -c 'import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 80))' 2>/dev/null; then
		bench_port=80 crt=1
	else
		echo "download-speed: port 80 is taken or not ours: no aws-c-s3 row" >&2
	fi
fi
if [ "${WAN:-0}" = 1 ]; then
	bench_start --key ak:sk --latency 30 --conn-bandwidth 25
else
	bench_start --key ak:sk
fi
cat > "$tmp/rclone.conf" <<CFG
[lo]
type = s3
provider = Other
env_auth = false
endpoint = $url
region = us-east-1
force_path_style = true
CFG
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$tmp/obj" "$url/bench/obj")
[ "$code" = 200 ] || { echo "download-speed: PutObject answered $code" >&2; exit 1; }
total=$((size_mib * 1024 * 1024))

# One measured command: "wall cpu rss_kib" (GNU time: %e %U %S %M).
measure() {
	/usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" > /dev/null 2> "$tmp/stderr" ||
		{ echo "download-speed: $1 failed:" >&2; cat "$tmp/stderr" >&2; exit 1; }
	awk '{print $1, $2 + $3, $4}' "$tmp/time"
}

run_curls() {
	t0=$(now)
	/usr/bin/time -f "%U %S" -o "$tmp/ctime" sh -c '
		total=$1 url=$2 tmp=$3
		slice=$((total / 8)); s=0
		while [ $s -lt 8 ]; do
			a=$((s * slice)); b=$((s == 7 ? total - 1 : a + slice - 1))
			curl -s -o "$tmp/c.$s" -H "Range: bytes=$a-$b" "$url/bench/obj" &
			s=$((s + 1))
		done
		wait' sh "$total" "$url" "$tmp"
	t1=$(now)
	rm -f "$tmp"/c.*
	awk -v t0="$t0" -v t1="$t1" '{print t1 - t0, $1 + $2, 0}' "$tmp/ctime"
}

run_hoist() {
	r=$(measure "$hoist" cp "oss://bench/obj" "$tmp/h.out" --endpoint "$url" --quiet "$@")
	rm -f "$tmp/h.out"
	echo "$r"
}

run_peer() { # aws-cli | rclone
	case $1 in
	aws-cli) r=$(measure env AWS_EC2_METADATA_DISABLED=true AWS_PAGER= AWS_CONFIG_FILE=/dev/null \
		/usr/bin/aws --no-sign-request --region us-east-1 --endpoint-url "$url" s3 cp \
		--no-progress --only-show-errors s3://bench/obj "$tmp/p.out") ;;
	rclone) r=$(measure env -u AWS_CA_BUNDLE rclone --config "$tmp/rclone.conf" copyto lo:bench/obj "$tmp/p.out" \
		--multi-thread-streams 16 --s3-no-check-bucket) ;;
	aws-c-s3) r=$(measure env AWS_ACCESS_KEY_ID=ak AWS_SECRET_ACCESS_KEY=sk \
		/usr/bin/python3 "$top/bench/peers/crt-download.py" s3://bench/obj "$tmp/p.out") ;;
	esac
	rm -f "$tmp/p.out"
	echo "$r"
}

"$hoist" cp oss://bench/obj "$tmp/h.out" --endpoint "$url" --quiet "$@"
cmp "$tmp/h.out" "$tmp/obj" || { echo "download-speed: hoist's copy differs" >&2; exit 1; }
rm -f "$tmp/h.out" "$tmp/obj"

: > "$tmp/rows"
i=0
while [ $i -le "$rounds" ]; do
	c=$(run_curls)
	h=$(run_hoist "$@")
	if [ "${JOBS256:-0}" = 1 ]; then
		j=$(run_hoist --jobs 256 --fixed-jobs "$@")
	else
		j="0 0 0"
	fi
	a="0 0 0"; r="0 0 0"; k="0 0 0"
	if [ "${PEERS:-0}" = 1 ]; then
		[ -x /usr/bin/aws ] && a=$(run_peer aws-cli)
		command -v rclone >/dev/null && r=$(run_peer rclone)
		[ "$crt" = 1 ] && k=$(run_peer aws-c-s3)
	fi
	[ $i -gt 0 ] && echo "$c $h $j $a $r $k" >> "$tmp/rows"
	echo "round $i: curl8 [$c]  hoist [$h]  hoist-256 [$j]  aws-cli [$a]  rclone [$r]  aws-c-s3 [$k]   (wall s, CPU s, peak RSS KiB)"
	i=$((i + 1))
done
awk -v bytes="$total" '
function med(col,   n, i, j, x, v) {
	n = 0
	for (i = 1; i <= NR; i++) v[++n] = row[i, col]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ for (c = 1; c <= NF; c++) row[NR, c] = $c }
END {
	gb = bytes / 1e9
	cw = med(1); cc = med(2); hw = med(4); hc = med(5); hr = med(6); jw = med(7); jr = med(9)
	printf "medians over %d rounds, %.2f GB each:\n", NR, gb
	printf "  8 curl range GETs: %6.0f MB/s  %.2f CPU-s/GB\n", gb * 1000 / cw, cc / gb
	printf "  hoist cp (default): %6.0f MB/s  %.2f CPU-s/GB  peak RSS %.0f MiB  = %.0f %% of the ceiling\n",
	       gb * 1000 / hw, hc / gb, hr / 1024, 100 * cw / hw
	if (jw > 0)
		printf "  hoist --jobs 256:   %6.0f MB/s  peak RSS %.0f MiB\n", gb * 1000 / jw, jr / 1024
	aw = med(10); ac = med(11); ar = med(12); rw = med(13); rc = med(14); rr = med(15)
	if (aw > 0)
		printf "  aws-cli:            %6.0f MB/s  %.2f CPU-s/GB  peak RSS %.0f MiB\n", gb * 1000 / aw, ac / gb, ar / 1024
	if (rw > 0)
		printf "  rclone:             %6.0f MB/s  %.2f CPU-s/GB  peak RSS %.0f MiB\n", gb * 1000 / rw, rc / gb, rr / 1024
	kw = med(16); kc = med(17); kr = med(18)
	if (kw > 0)
		printf "  aws-c-s3:           %6.0f MB/s  %.2f CPU-s/GB  peak RSS %.0f MiB  hoist = %.2fx its throughput\n", gb * 1000 / kw, kc / gb, kr / 1024, kw / hw
}' "$tmp/rows"
