#!/bin/sh
# bench/ossemu-speed.sh - how fast `ossemu --discard` sinks UploadPart traffic.
#
# Starts ossemu --discard (CRC64 on every byte, no MD5 unless asked), opens
# one multipart upload, then runs STREAMS parallel `curl -T` loops, each
# uploading ROUNDS parts of PART_MIB MiB read from a file in page cache.
# Prints the sink throughput in GB/s (10^9 bytes/s) and the server's CPU
# seconds (from /proc/PID/stat).  A benchmark, not a test: nothing fails
# below a threshold, but every UploadPart must answer 200.
#
# Usage: sh bench/ossemu-speed.sh [STREAMS] [PART_MIB] [ROUNDS] [-- ossemu flags...]
#   defaults: 8 streams, 256 MiB parts, 4 rounds (8 GiB in total)
#   OSSEMU_BIN=path overrides build/ossemu.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
streams=${1:-8}
part_mib=${2:-256}
rounds=${3:-4}
[ $# -ge 3 ] && shift 3 || shift $#
[ "${1:-}" = "--" ] && shift
[ -x "$ossemu" ] || { echo "ossemu-speed: build $ossemu first (make build/ossemu)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ossemu-speed.XXXXXX")
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The part file: random bytes (so nothing compresses), read once to warm
# the page cache; /dev/shm when it has room keeps it off the disk.
src_dir=$tmp
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt $((part_mib * 1024 * 2)) ]; then
	src_dir=$(mktemp -d /dev/shm/ossemu-speed.XXXXXX)
	trap 'cleanup; rm -rf "$src_dir"' EXIT INT TERM
fi
part="$src_dir/part"
head -c $((part_mib * 1024 * 1024)) /dev/urandom > "$part"
cat "$part" > /dev/null

"$ossemu" --port 0 --discard --anonymous --bucket bench "$@" > "$tmp/out" 2> "$tmp/err" &
pid=$!
i=0
while ! grep -q "listening" "$tmp/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "ossemu-speed: ossemu did not start:" >&2; cat "$tmp/err" >&2; exit 1; }
	sleep 0.05
done
url=$(sed -n '1s/^ossemu listening on //p' "$tmp/out")
id=$(curl -s -X POST "$url/bench/speed.bin?uploads" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
[ -n "$id" ] || { echo "ossemu-speed: Initiate failed" >&2; exit 1; }

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
now() { date +%s.%N; }

cpu0=$(cpu)
t0=$(now)
s=1
kids=""
while [ $s -le "$streams" ]; do
	(
		r=1
		while [ $r -le "$rounds" ]; do
			n=$(((s - 1) * rounds + r))
			curl -s -o /dev/null -w '%{http_code}\n' -T "$part" \
				"$url/bench/speed.bin?partNumber=$n&uploadId=$id"
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
cpu1=$(cpu)

bad=$(cat "$tmp"/codes.* | grep -vc '^200$' || true)
total=$((streams * rounds * part_mib * 1024 * 1024))
awk -v b="$total" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v hz="$hz" \
	-v s="$streams" -v r="$rounds" -v p="$part_mib" -v cores="$(nproc)" 'BEGIN {
	dt = t1 - t0; cpu = (c1 - c0) / hz
	printf "ossemu sink: %d streams x %d parts x %d MiB = %.2f GiB in %.2f s = %.2f GB/s; " \
	       "server CPU %.2f s (%.0f%% of one core, %d cores)\n",
	       s, r, p, b / 1073741824, dt, b / dt / 1e9, cpu, 100 * cpu / dt, cores
}'
if [ "$bad" != 0 ] || [ "$wait_ok" != 0 ]; then
	echo "ossemu-speed: $bad UploadPart(s) did not answer 200" >&2
	exit 1
fi
