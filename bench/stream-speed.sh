#!/bin/sh
# bench/stream-speed.sh - a stream of unknown length on standard input:
# `cat FILE | hoist cp -` beside the same bytes as a file and the peers'
# stream uploads (issue 14).
#
# Makes a SIZE_MIB file on tmpfs, starts `ossemu --discard --anonymous`
# (LAN) or with `--latency LAT --conn-bandwidth MBPS` (WAN) and uploads it
# ROUNDS times with each engine, interleaved, the first round discarded:
#   file         hoist cp FILE (the ceiling a stream aims at)
#   stream       cat FILE | hoist cp - (default --memory-limit 256M)
#   stream-64M   cat FILE | hoist cp - --memory-limit 64M
#   pipe         cat FILE > /dev/null (what the pipe alone costs)
#   aws-cli      cat FILE | aws s3 cp - (8 MiB parts, 10 in flight)
#   rclone       cat FILE | rclone rcat (--s3-upload-concurrency 16)
# all with CRC64 only where the engine has a choice (hoist --checksum
# crc64), and prints per engine the median wall time, MB/s, client CPU-s
# (user + system of the pipeline) and peak RSS of the largest process.
# A benchmark, not a test.
#
# Usage: flock /tmp/hoist-bench.lock sh bench/stream-speed.sh [SIZE_MIB] [ROUNDS] [lan|wan]
#   defaults: 1024 MiB, 4 rounds, lan; wan is --latency 30 --conn-bandwidth 25.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${HOIST_BUILD:-$top/build}
size=${1:-1024}
rounds=${2:-4}
profile=${3:-lan}
engines=${ENGINES:-file stream stream-64M pipe aws-cli rclone}
[ -x "$b/hoist" ] && [ -x "$b/ossemu" ] || { echo "stream-speed: build first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "stream-speed: needs GNU time (/usr/bin/time)" >&2; exit 1; }

ossemu=$b/ossemu
. "$top/bench/ossemu/bench-lib.sh"
bench_setup stream-speed
head -c $((size * 1048576)) /dev/urandom >"$tmp/f"
wan=""
[ "$profile" = wan ] && wan="--latency 30 --conn-bandwidth 25"
# shellcheck disable=SC2086
bench_start --discard --key ak:sk $wan
export AWS_ACCESS_KEY_ID=ak AWS_SECRET_ACCESS_KEY=sk OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk
bench_peer_configs

have() {
	case $1 in
	rclone) command -v rclone >/dev/null ;;
	aws-cli) [ -x /usr/bin/aws ] ;;
	*) true ;;
	esac
}

run() { # engine round
	e=$1; rn=$2
	case $e in
	file) set -- "$b/hoist" cp "$tmp/f" oss://bench/f --endpoint "$url" --checksum crc64 --quiet ;;
	stream) set -- sh -c 'cat "$1" | "$2" cp - oss://bench/s --endpoint "$3" --checksum crc64 --quiet' \
		sh "$tmp/f" "$b/hoist" "$url" ;;
	stream-64M) set -- sh -c 'cat "$1" | "$2" cp - oss://bench/s --endpoint "$3" --checksum crc64 --quiet --memory-limit 64M' \
		sh "$tmp/f" "$b/hoist" "$url" ;;
	pipe) set -- sh -c 'cat "$1" >/dev/null' sh "$tmp/f" ;;
	aws-cli) set -- sh -c 'cat "$1" | env AWS_CONFIG_FILE="$2" AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER= /usr/bin/aws --endpoint-url "$3" s3 cp --no-progress --only-show-errors - s3://bench/a' \
		sh "$tmp/f" "$tmp/aws.conf" "$url" ;;
	rclone) set -- sh -c 'cat "$1" | env -u AWS_CA_BUNDLE rclone --config "$2" rcat lo:bench/r --s3-upload-concurrency 16 --s3-no-check-bucket' \
		sh "$tmp/f" "$tmp/rclone.conf" ;;
	esac
	if /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$@" >"$tmp/log" 2>&1; then
		[ "$rn" = 0 ] || echo "$e $(cat "$tmp/time")" >>"$tmp/res"
	else
		echo "stream-speed: $e failed in round $rn:" >&2
		tail -5 "$tmp/log" >&2
	fi
}

r=0
while [ $r -le "$rounds" ]; do
	for e in $engines; do
		have "$e" && run "$e" $r
	done
	r=$((r + 1))
done
echo "# stream-speed: $size MiB, $profile, $rounds rounds (median, one warm-up discarded), $(nproc) cores"
printf '| engine | wall s | MB/s | client CPU-s | peak RSS MiB |\n|---|---:|---:|---:|---:|\n'
for e in $engines; do
	grep "^$e " "$tmp/res" 2>/dev/null | awk -v size="$size" -v e="$e" '
	{ w[NR] = $2; c[NR] = $3 + $4; m[NR] = $5 }
	END {
		if (NR == 0) exit
		n = NR; for (i = 1; i <= n; i++) for (k = i + 1; k <= n; k++) {
			if (w[k] < w[i]) { t = w[i]; w[i] = w[k]; w[k] = t }
			if (c[k] < c[i]) { t = c[i]; c[i] = c[k]; c[k] = t }
			if (m[k] < m[i]) { t = m[i]; m[i] = m[k]; m[k] = t } }
		h = int((n + 1) / 2)
		printf "| %s | %.2f | %.0f | %.2f | %.0f |\n", e, w[h], size * 1.048576 / w[h], c[h], m[h] / 1024 }'
done
