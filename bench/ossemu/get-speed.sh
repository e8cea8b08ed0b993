#!/bin/sh
# bench/ossemu/get-speed.sh - how fast ossemu serves ranged GETs.
#
# Starts ossemu with a data directory on tmpfs (/dev/shm), stores one
# object of SIZE_MIB MiB (random bytes) with a PutObject, then runs STREAMS
# parallel `curl` processes, each fetching its own 1/STREAMS slice of the
# object with `Range: bytes=a-b`, ROUNDS times over.  Prints the throughput
# in GB/s (10^9 bytes/s) and the server's CPU seconds (/proc/PID/stat).
# Every GET must answer 206 with the slice's length.  A benchmark, not a
# test: nothing fails below a threshold.
#
# Usage: sh bench/ossemu/get-speed.sh [STREAMS] [SIZE_MIB] [ROUNDS] [-- ossemu flags...]
#   defaults: 8 streams, a 1024 MiB object, 4 rounds (4 GiB served)
#   OSSEMU_BIN=path overrides build/ossemu.  Hold the bench lock:
#   flock /tmp/hoist-bench.lock sh bench/ossemu/get-speed.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
streams=${1:-8}
size_mib=${2:-1024}
rounds=${3:-4}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
. "$(dirname "$0")/bench-lib.sh"
bench_setup get-speed
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$tmp/obj"
bench_start "$@"
code=$(curl -s -o /dev/null -w '%{http_code}' -T "$tmp/obj" "$url/bench/obj")
[ "$code" = 200 ] || { echo "get-speed: PutObject answered $code" >&2; exit 1; }
rm -f "$tmp/obj" # the server's copy is on tmpfs too: keep one

total=$((size_mib * 1024 * 1024))
slice=$((total / streams))

cpu0=$(server_cpu)
t0=$(now)
s=0
kids=""
while [ $s -lt "$streams" ]; do
	a=$((s * slice))
	b=$((s == streams - 1 ? total - 1 : a + slice - 1))
	(
		r=1
		while [ $r -le "$rounds" ]; do
			curl -s -o /dev/null -w '%{http_code} %{size_download}\n' \
				-H "Range: bytes=$a-$b" "$url/bench/obj"
			r=$((r + 1))
		done
	) > "$tmp/codes.$s" &
	kids="$kids $!"
	s=$((s + 1))
done
wait_ok=0
for j in $kids; do
	wait "$j" || wait_ok=1
done
t1=$(now)
cpu1=$(server_cpu)

bad=$(cat "$tmp"/codes.* | grep -vc '^206 ' || true)
got=$(cat "$tmp"/codes.* | awk '{n += $2} END {printf "%.0f", n}')
awk -v b="$got" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" \
	-v s="$streams" -v r="$rounds" -v m="$size_mib" -v cores="$(nproc)" 'BEGIN {
	dt = t1 - t0; cpu = c1 - c0
	printf "ossemu GET: %d streams x %d rounds of a %d MiB object = %.2f GiB in %.2f s = %.2f GB/s; " \
	       "server CPU %.2f s (%.2f s/GiB, %d cores)\n",
	       s, r, m, b / 1073741824, dt, b / dt / 1e9, cpu, cpu / (b / 1073741824), cores
}'
if [ "$bad" != 0 ] || [ "$wait_ok" != 0 ] || [ "$got" != $((total * rounds)) ]; then
	echo "get-speed: $bad GET(s) did not answer 206, or bytes short ($got of $((total * rounds)))" >&2
	exit 1
fi
