#!/bin/sh
# tests/deps.sh - install what hoist's build, tests and benchmarks need.
#
# Idempotent: packages already present are not touched, and apt-get runs only
# when something is missing.  Debian packages need root (CI runs as root);
# npm packages go to build/node_modules (never a global install).
# Usage: sh tests/deps.sh [--quiet]
set -eu
quiet=${1:-}
say() { [ "$quiet" = --quiet ] || echo "deps: $*"; }

# Build: compiler toolchain and the libraries named in the Makefile (jansson:
# the CLI's --json).
# Tests: cmocka, python3 with boto3/crcmod, curl, node+npm for ali-oss,
# clang for libFuzzer, abigail-tools for the ABI check, strace (a test counts
# what hoist opens), media-types (/etc/mime.types, which --content-type
# guesses from) and Open MPI (hoist-mpi).  Peers and bench: awscrt, awscli,
# rclone, iperf3, gnuplot.
# A real S3 server for the S3 tests: single-node Ceph RGW (tests/rgw/).
DEB="build-essential pkg-config libcurl4-openssl-dev libssl-dev libisal-dev
libhwloc-dev libexpat1-dev libmicrohttpd-dev libjansson-dev libcmocka-dev
python3 python3-boto3 python3-crcmod curl ca-certificates openssl
clang libclang-rt-14-dev
nodejs npm python3-awscrt awscli rclone iperf3 gnuplot-nox procps time
ceph-mon ceph-osd radosgw ceph-common uuid-runtime abigail-tools strace
openmpi-bin libopenmpi-dev media-types"
[ -n "${HOIST_DEPS_EXTRA:-}" ] && DEB="$DEB $HOIST_DEPS_EXTRA"

missing=""
for p in $DEB; do
	# npm may come bundled with a nodejs from elsewhere: a working command is enough.
	case $p in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case $st in *" installed") ;; *) missing="$missing $p" ;; esac
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run 'sudo make deps' (or: sudo apt-get install$missing)" >&2
		exit 1
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# npm: the real Alibaba OSS Node client for interop tests and the bench.
here=$(cd "$(dirname "$0")/.." && pwd)
nm="$here/build/node"
# s3rver: a lax S3 fake, for a smoke upload.
for pkg in ali-oss@6.23.0 s3rver@3.7.1; do
	name=${pkg%@*}
	[ -f "$nm/node_modules/$name/package.json" ] && continue
	say "installing $pkg into build/node"
	mkdir -p "$nm"
	[ -f "$nm/package.json" ] || echo '{"name":"hoist-test-deps","private":true}' > "$nm/package.json"
	(cd "$nm" && npm install --no-audit --no-fund --loglevel=error "$pkg" >/dev/null)
done
say "all dependencies present"
