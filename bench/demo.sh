#!/bin/sh
# bench/demo.sh - the README's first command (`make demo`): hoist at work in
# under two minutes, with nothing but this checkout.
#
# Starts build/ossemu (the local OSS server) on a free loopback port with a
# temporary data dir, makes a 1 GiB file of random bytes, uploads it with
# `hoist cp` (progress bar on a terminal), prints hoist's verified result,
# then reads the object back with plain curl and checks its size and CRC64
# with independent code (Python's crcmod).  Everything it started or wrote
# is removed on exit, Ctrl-C included.
#
# Usage: sh bench/demo.sh        (DEMO_SIZE=256M for a smaller file)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hoist="$top/build/hoist"
ossemu="$top/build/ossemu"
size=${DEMO_SIZE:-1G}
py=/usr/bin/python3

for b in "$hoist" "$ossemu"; do
	[ -x "$b" ] || { echo "demo: $b is missing: run 'make' first" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-demo.XXXXXX")
srv_pid=""
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server: a bucket, a key pair for hoist's signed requests, and
# --anonymous so curl can read the object back without signing.
"$ossemu" --host 127.0.0.1 --port 0 --bucket demo --key demo-ak:demo-secret \
	--data-dir "$tmp/data" --anonymous >"$tmp/ossemu.out" 2>"$tmp/ossemu.err" &
srv_pid=$!
url=""
i=0
while [ $i -lt 100 ]; do
	url=$(sed -n 's/^ossemu listening on //p' "$tmp/ossemu.out" | head -1)
	[ -n "$url" ] && break
	kill -0 "$srv_pid" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$url" ]; then
	echo "demo: ossemu did not start:" >&2
	cat "$tmp/ossemu.err" >&2
	exit 1
fi
echo "demo: ossemu (local OSS) listening on $url"

echo "demo: making a $size file of random bytes"
head -c "$size" /dev/urandom >"$tmp/demo.bin"

echo "demo: hoist cp demo.bin oss://demo/demo.bin --endpoint $url --no-resume"
echo
# The bar goes to the terminal (stderr); the result printout comes at the
# end on stdout, kept to read hoist's CRC64 from it.
rc=0
OSS_ACCESS_KEY_ID=demo-ak OSS_ACCESS_KEY_SECRET=demo-secret \
	"$hoist" cp "$tmp/demo.bin" oss://demo/demo.bin --endpoint "$url" --no-resume >"$tmp/result.txt" || rc=$?
cat "$tmp/result.txt"
if [ "$rc" != 0 ]; then
	echo "demo: hoist cp failed with exit code $rc (see 'hoist --help' for the codes)" >&2
	exit "$rc"
fi
echo

# Check with code that is not hoist's: Python's crcmod over the file, and
# over the object read back with curl.
crcpy='
import sys, crcmod
crc = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)
f = open(sys.argv[1], "rb") if len(sys.argv) > 1 else sys.stdin.buffer
c, n = 0, 0
for b in iter(lambda: f.read(1 << 20), b""):
    c, n = crc(b, c), n + len(b)
print(n, c)'
set -- $("$py" -c "$crcpy" "$tmp/demo.bin")
file_n=$1 file_crc=$2
hoist_crc=$(sed -n 's/^CRC64: *\([0-9][0-9]*\)$/\1/p' "$tmp/result.txt")
echo "demo: reading the object back with curl, checking it with crcmod"
set -- $(curl -sSf "$url/demo/demo.bin" | "$py" -c "$crcpy")
got_n=$1 got_crc=$2
echo "demo: file      $file_n bytes, CRC64 $file_crc"
echo "demo: hoist                  CRC64 $hoist_crc"
echo "demo: read back $got_n bytes, CRC64 $got_crc"
if [ "$got_n" = "$file_n" ] && [ "$got_crc" = "$file_crc" ] && [ "$hoist_crc" = "$file_crc" ]; then
	echo "demo: OK - the stored object is byte-exact and every CRC64 matched"
else
	echo "demo: MISMATCH" >&2
	exit 1
fi
echo "demo: done (server stopped, temporary files removed)"
