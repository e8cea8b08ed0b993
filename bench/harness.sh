#!/bin/sh
# bench/harness.sh - entry point of `make bench` (full) and `make bench-quick` (quick).
#
# usage: sh bench/harness.sh full|quick|smoke|rgw|wan [--out DIR] [--engines a,b] [--keep-files] [--budget S]
#   full   the whole matrix with peers and ceilings, about 30 minutes on 2 cores
#   quick  hoist, the peers and the ceilings on one small file, under 3 minutes
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
exec /usr/bin/python3 bench/harness/run.py "$mode" "$@"
