#!/bin/sh
# bench/tree-speed.sh - a tree of many small files: hoist cp -r against the
# peers and the keep-alive curl reference (issue 16), upload or download.
#
# Makes FILES files of SIZE_KIB KiB in 50 directories on tmpfs, starts
# `ossemu --discard --anonymous` (signatures checked, CRC64 computed,
# nothing kept) and uploads the tree ROUNDS times with each engine,
# interleaved, the first round discarded:
#   hoist        hoist cp -r (default checksums: Content-MD5 and CRC64)
#   hoist-crc64  hoist cp -r --checksum crc64
#   curl8        8 curl processes, each PUTting its share over one keep-alive
#                connection (one config file of url/upload-file pairs each,
#                unsigned): the reference
#   rclone       rclone copy --transfers 64 (Debian 1.60), S3 dialect
#   aws-cli      aws s3 cp --recursive, max_concurrent_requests 64
# and prints per engine the median files/s, MB/s, client CPU seconds
# (user + system, GNU time) and peak RSS.  A peer that is not installed is
# skipped.  A benchmark, not a test: nothing fails below a threshold.
#
# MODE=get measures downloads instead: ossemu keeps its objects (data
# directory on tmpfs), the tree is uploaded once under t/ (and one object
# of the tree's total size as "single"), then each round downloads it with
# every engine into a fresh tmpfs directory (removed after the run):
#   hoist, hoist-crc64  hoist cp -r oss://bench/t/ DIR (--checksum crc64)
#   curl8        8 curl processes, keep-alive GETs of their share of the keys
#   rclone       rclone copy lo:bench/t/ DIR --transfers 64
#   aws-cli      aws s3 cp --recursive s3://bench/t/ DIR
#   hoist-single hoist cp of the one object of the same total size (the
#                single-file throughput the tree is compared with)
#   hoist-fixed64 (not by default) hoist cp -r --jobs 64 --fixed-jobs: the
#                tree download's old fixed width, beside the pacer's
# The first download round's file set is compared with the source (diff -r).
# A download run ends with hoist's MB/s as a share of hoist-single's: the
# ratio of the medians, and the median of each round's ratio (the two run
# back to back in every round, so the host's drift between rounds, +-20 %
# on this shared VM, cancels).
#
# Usage: flock /tmp/hoist-bench.lock sh bench/tree-speed.sh [FILES] [SIZE_KIB] [ROUNDS] [put|get] [lan|wan]
#   defaults: 5000 files of 16 KiB, 4 rounds, put, lan.  wan is ossemu
#   --latency 30 --conn-bandwidth 25 (bench/README.md's WAN profile).
#   ENGINES="hoist curl8" picks engines; HOIST_BIN / OSSEMU_BIN override
#   build/hoist / build/ossemu; MODE=get works as the fourth argument.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hoist=${HOIST_BIN:-$top/build/hoist}
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
files=${1:-5000}
size_kib=${2:-16}
rounds=${3:-4}
mode=${4:-${MODE:-put}}
profile=${5:-lan}
case $profile in
lan) shaping= ;;
wan) shaping="--latency 30 --conn-bandwidth 25" ;;
*) echo "tree-speed: the profile is lan or wan" >&2; exit 1 ;;
esac
case $mode in
put) engines=${ENGINES:-hoist hoist-crc64 curl8 rclone aws-cli} ;;
get) engines=${ENGINES:-hoist hoist-single hoist-crc64 curl8 rclone aws-cli} ;;
*) echo "tree-speed: MODE is put or get" >&2; exit 1 ;;
esac
[ -x "$hoist" ] && [ -x "$ossemu" ] || { echo "tree-speed: build first (make)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "tree-speed: needs GNU time (/usr/bin/time)" >&2; exit 1; }

. "$top/bench/ossemu/bench-lib.sh"
bench_setup tree-speed

# The tree: dir00..dir49/fNNNNNNN, distinct random bytes per file.
src=$tmp/src
mkdir "$src"
python3 - "$src" "$files" "$size_kib" <<'PY'
import os, sys
src, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(kib * 1024 + 8 * n)
for d in range(50):
    os.mkdir(os.path.join(src, "dir%02d" % d))
for i in range(n):
    with open(os.path.join(src, "dir%02d" % (i % 50), "f%07d" % i), "wb") as f:
        f.write(block[8 * i: 8 * i + kib * 1024])
PY

if [ "$mode" = get ]; then
	store=--data-dir
	# A GET's request needs a few KiB of libmicrohttpd's connection pool,
	# and MHD resets (memsets) the whole pool per request: at the default
	# 512 KiB that was 13 % of the server's CPU on 1 MiB GETs, taken from
	# the client on 2 shared cores.  64 KiB only slows the seeding upload.
	# shellcheck disable=SC2086
	bench_start --key ak:sk --conn-memory 64 $shaping
else
	store=--discard
	# shellcheck disable=SC2086
	bench_start --key ak:sk --discard $shaping
fi
export AWS_ACCESS_KEY_ID=ak AWS_SECRET_ACCESS_KEY=sk OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk

# curl8: one config per stream, keys spread like the tree's.  Downloads
# write into DST, which run() points at a fresh directory (a symlink).
s=0
while [ $s -lt 8 ]; do
	if [ "$mode" = get ]; then
		(cd "$src" && find . -type f | sort | awk -v s=$s -v u="$url" -v dst="$tmp/dst" \
			'(NR - 1) % 8 == s { sub(/^\.\//, ""); printf "url = \"%s/bench/t/%s\"\noutput = \"%s/%s\"\n", u, $0, dst, $0 }') \
			>"$tmp/curl.$s"
	else
		(cd "$src" && find . -type f | sort | awk -v s=$s -v u="$url" -v src="$src" \
			'(NR - 1) % 8 == s { sub(/^\.\//, ""); printf "url = \"%s/bench/curl/%s\"\nupload-file = \"%s/%s\"\noutput = /dev/null\n", u, $0, src, $0 }') \
			>"$tmp/curl.$s"
	fi
	s=$((s + 1))
done
bench_peer_configs "    max_concurrent_requests = 64
    max_queue_size = 10000
"

have() {
	case $1 in
	rclone) command -v rclone >/dev/null ;;
	aws-cli) [ -x /usr/bin/aws ] ;;
	*) true ;;
	esac
}

# The objects to download, stored once: the tree under t/ and one object
# of the tree's total size.
if [ "$mode" = get ]; then
	"$hoist" cp -r "$src" oss://bench/t/ --endpoint "$url" --quiet ||
		{ echo "tree-speed: seeding the tree failed" >&2; exit 1; }
	find "$src" -type f | sort | xargs cat >"$tmp/single"
	"$hoist" cp "$tmp/single" oss://bench/single --endpoint "$url" --quiet ||
		{ echo "tree-speed: seeding the single object failed" >&2; exit 1; }
	rm -f "$tmp/single"
fi

measure() { # engine round command... -> appends "engine wall user sys maxrss_kb" to $tmp/res.ROUND
	e=$1; rn=$2; shift 2
	if /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$@" >"$tmp/log" 2>&1; then
		echo "$e $(cat "$tmp/time")" >>"$tmp/res.$rn"
		return 0
	fi
	echo "tree-speed: $e failed in round $rn:" >&2
	tail -5 "$tmp/log" >&2
	return 1
}

run_get() { # engine round: one download into a fresh $tmp/dst
	e=$1; rn=$2
	rm -rf "$tmp/dst"
	mkdir "$tmp/dst"
	case $e in
	hoist) set -- "$hoist" cp -r oss://bench/t/ "$tmp/dst" --endpoint "$url" --quiet ;;
	hoist-crc64) set -- "$hoist" cp -r oss://bench/t/ "$tmp/dst" --endpoint "$url" --quiet --checksum crc64 ;;
	hoist-fixed64) set -- "$hoist" cp -r oss://bench/t/ "$tmp/dst" --endpoint "$url" --quiet --jobs 64 --fixed-jobs ;;
	hoist-single) set -- "$hoist" cp oss://bench/single "$tmp/dst/single" --endpoint "$url" --quiet ;;
	curl8)
		(cd "$src" && find . -type d) | (cd "$tmp/dst" && xargs mkdir -p)
		set -- sh -c 'for c in "$0".*; do curl -sS --fail -K "$c" & done; wait' "$tmp/curl" ;;
	rclone) set -- env -u AWS_CA_BUNDLE rclone --config "$tmp/rclone.conf" copy "lo:bench/t/" "$tmp/dst" \
		--transfers 64 --checkers 64 --retries 1 ;;
	aws-cli) set -- env AWS_CONFIG_FILE="$tmp/aws.conf" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true AWS_PAGER= /usr/bin/aws --endpoint-url "$url" s3 cp --recursive \
		--no-progress --only-show-errors "s3://bench/t/" "$tmp/dst" ;;
	esac
	if measure "$e" "$rn" "$@" && [ "$rn" = 0 ] && [ "$e" != hoist-single ] &&
		! diff -r "$src" "$tmp/dst" >/dev/null; then
		echo "tree-speed: $e's download differs from the tree" >&2
	fi
	rm -rf "$tmp/dst"
}

run() { # engine round -> appends "engine wall user sys maxrss_kb" to $tmp/res
	e=$1; rn=$2
	[ "$mode" = get ] && { run_get "$e" "$rn"; return; }
	case $e in
	hoist) set -- "$hoist" cp -r "$src" "oss://bench/h$2/" --endpoint "$url" --quiet ;;
	hoist-crc64) set -- "$hoist" cp -r "$src" "oss://bench/c$2/" --endpoint "$url" --quiet --checksum crc64 ;;
	hoist-fixed64) set -- "$hoist" cp -r "$src" "oss://bench/x$2/" --endpoint "$url" --quiet --jobs 64 --fixed-jobs ;;
	curl8) set -- sh -c 'for c in "$0".*; do curl -sS --fail -K "$c" & done; wait' "$tmp/curl" ;;
	rclone) set -- env -u AWS_CA_BUNDLE rclone --config "$tmp/rclone.conf" copy "$src" "lo:bench/r$2/" \
		--transfers 64 --checkers 64 --s3-no-check-bucket --no-check-dest --retries 1 ;;
	aws-cli) set -- env AWS_CONFIG_FILE="$tmp/aws.conf" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true AWS_PAGER= /usr/bin/aws --endpoint-url "$url" s3 cp --recursive \
		--no-progress --only-show-errors "$src" "s3://bench/a$2/" ;;
	esac
	measure "$e" "$rn" "$@" || true
}

r=0
while [ $r -lt "$rounds" ]; do
	for e in $engines; do
		have "$e" && run "$e" $r
	done
	r=$((r + 1))
done
# Round 0 warms caches and connections: discarded.
cat "$tmp"/res.* 2>/dev/null | grep -v '^$' >/dev/null || { echo "tree-speed: no results" >&2; exit 1; }
r=1
: >"$tmp/res"
while [ $r -lt "$rounds" ]; do
	[ -f "$tmp/res.$r" ] && cat "$tmp/res.$r" >>"$tmp/res"
	r=$((r + 1))
done
echo "tree-speed: $mode, $files files of $size_kib KiB, $((rounds - 1)) rounds (first of $rounds discarded), ossemu $store${shaping:+ $shaping} (tmpfs), $(nproc) cores"
printf '| engine | files/s | MB/s | client CPU-s | CPU-ms per 1,000 files | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|\n'
{
for e in $engines; do
	grep "^$e " "$tmp/res" | awk -v f="$files" -v kib="$size_kib" -v e="$e" '
	{ w[NR] = $2; c[NR] = $3 + $4; m[NR] = $5 }
	END {
		if (NR == 0) exit
		# medians: sort each column (NR is small)
		for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) {
			if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
			if (c[j] < c[i]) { t = c[i]; c[i] = c[j]; c[j] = t }
			if (m[j] < m[i]) { t = m[i]; m[i] = m[j]; m[j] = t }
		}
		k = int((NR + 1) / 2)
		wall = (NR % 2) ? w[k] : (w[k] + w[k + 1]) / 2
		cpu = (NR % 2) ? c[k] : (c[k] + c[k + 1]) / 2
		if (e == "hoist-single") {
			# one object of the same total size: only MB/s compares
			printf "| %s | - | %.1f | %.2f | - | %.0f |\n", e, f * kib * 1024 / wall / 1e6, cpu, m[k] / 1024
			exit
		}
		printf "| %s | %.0f | %.1f | %.2f | %.0f | %.0f |\n", e, f / wall, f * kib * 1024 / wall / 1e6, cpu,
			cpu * 1000000 / f, m[k] / 1024
	}'
done
} | tee "$tmp/table"
# The bar of issue 16: a tree of 1 MiB files at >= 80 % of one object's MB/s.
awk -F'|' '{ gsub(/ /, "", $2); v[$2] = $4 } END {
	if (v["hoist"] > 0 && v["hoist-single"] > 0)
		printf "hoist cp -r at %.0f %% of hoist-single'"'"'s MB/s\n", 100 * v["hoist"] / v["hoist-single"] }' "$tmp/table"
# Per round: hoist's wall over hoist-single's is the inverse of the MB/s ratio.
r=1
: >"$tmp/pairs"
while [ $r -lt "$rounds" ]; do
	[ -f "$tmp/res.$r" ] && awk '$1 == "hoist" { h = $2 } $1 == "hoist-single" { s = $2 }
		END { if (h > 0 && s > 0) printf "%.4f\n", s / h }' "$tmp/res.$r" >>"$tmp/pairs"
	r=$((r + 1))
done
sort -n "$tmp/pairs" | awk '{ v[NR] = $1 } END {
	if (NR == 0) exit
	k = int((NR + 1) / 2); m = (NR % 2) ? v[k] : (v[k] + v[k + 1]) / 2
	printf "per round (back to back): median %.0f %% (%.0f-%.0f %%, %d rounds)\n", 100 * m, 100 * v[1], 100 * v[NR], NR }'
