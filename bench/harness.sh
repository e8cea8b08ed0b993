#!/bin/sh
# bench/harness.sh - entry point of `make bench` (full) and `make bench-quick` (quick).
#
# usage: sh bench/harness.sh full|quick|smoke|rgw|wan [--out DIR] [--engines a,b] [--keep-files] [--budget S]
#   full   the whole matrix with peers and ceilings, about 30 minutes on 2 cores,
#          then bench/stream-speed.sh (LAN and WAN), tree-speed.sh (16 KiB and
#          1 MiB sets, up and down, the 1 MiB download on the WAN profile too),
#          download-speed.sh, mpi-speed.sh and startup-speed.sh (a 1-byte
#          file per process, HTTP and HTTPS, beside curl)
#   quick  hoist, the peers and the ceilings on one small file, under 3 minutes,
#          then a 256 MiB bench/stream-speed.sh and a short startup-speed.sh
#   smoke  a ~10 s run of the harness itself (bench/smoke.sh uses it)
#   wan    only the adaptive-concurrency bars (WAN 30 ms and 100 ms, LAN), about 4 minutes
#   rgw    hoist's S3 dialect and the S3 peers against a single-node Ceph RGW
#          (tests/rgw/rgw-up.sh), client CPU-s per GiB first; about 5 minutes
# Results go to bench/results/<date>-<host>/ (quick: ...-quick/, rgw: ...-rgw/); see bench/README.md.
# The driver is Python (bench/harness/run.py), run with Debian's /usr/bin/python3
# because the aws-c-s3 peer (python3-awscrt) is installed for that interpreter only.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${1:-}
case $mode in
full|quick|smoke|rgw|wan) shift ;;
*) echo "usage: sh bench/harness.sh full|quick|smoke|rgw|wan [options]" >&2; exit 2 ;;
esac
b=${HOIST_BUILD:-build}
for f in "$b/ossemu" "$b/hoist"; do
	[ -x "$f" ] || { echo "bench: $f is missing: run make first" >&2; exit 2; }
done
[ -x "$b/hashbench" ] || echo "bench: $b/hashbench is missing: no hashing ceilings" >&2
# Peers are optional: the harness records which ones it could not run and why.
# `make deps` installs them (python3-awscrt, awscli, rclone, iperf3, gnuplot, ali-oss).
/usr/bin/python3 bench/harness/run.py "$mode" "$@"
# The workloads with scripts of their own join the run, one after the
# other (never two benchmarks at once): streams (quick too, smaller), trees,
# downloads, hoist-mpi, the start-up of one small transfer (quick too).
scripts=""
case $mode in
quick) scripts="stream-speed:256:2 startup-speed:10:3" ;;
full) scripts="stream-speed:1024:4 stream-speed:1024:3:wan tree-speed tree-speed:500:1024 tree-speed:5000:16:3:get tree-speed:500:1024:4:get tree-speed:500:1024:3:get:wan download-speed mpi-speed startup-speed"
	export PEERS=1 ;; # download-speed: the peers' rows too
esac
if [ -n "$scripts" ]; then
	out=bench/results/$(date +%Y-%m-%d)-$(hostname -s)-scripts
	mkdir -p "$out"
	for spec in $scripts; do
		s=${spec%%:*}
		args=$(echo "${spec#"$s"}" | tr ':' ' ')
		[ -f "bench/$s.sh" ] || continue
		name=$s$(echo "$args" | tr ' ' '-')
		echo "bench: $s$args" >&2
		# shellcheck disable=SC2086
		sh "bench/$s.sh" $args >"$out/$name.txt" 2>&1 || echo "bench: $s failed (see $out/$name.txt)" >&2
	done
fi
