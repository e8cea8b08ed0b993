#!/bin/sh
# tests/interop/test_s3rver.sh - smoke: hoist's S3 dialect against s3rver
# 3.7 (npm), an S3 clone we did not write, on a free loopback port.
#
# s3rver is lax (it accepts a wrong secret, and its Complete/HEAD ETag is
# the MD5 of the whole object, not MD5-of-part-digests-N), so this only
# checks that hoist lands the bytes there: a single PUT and a 4-part
# multipart upload, each read back (anonymous GET) and compared with cmp.
# The RGW and ossemu tests carry the strict checks.
#
# s3rver comes from build/node (tests/deps.sh); installed here if missing.
# TAP output; the server is stopped by PID on exit.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
hoist=${HOIST_BIN:-$top/build/hoist}
nm=$top/build/node
s3rver=$nm/node_modules/s3rver/bin/s3rver.js
n=0
failed=0

ok() { # status name [detail]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | tail -n 20 | sed 's/^/#   /'
	fi
}

finish() {
	echo "1..$n"
	[ "$failed" = 0 ]
	exit $?
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-s3rver.XXXXXX")
pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -f "$s3rver" ]; then
	mkdir -p "$nm"
	[ -f "$nm/package.json" ] || echo '{"name":"hoist-test-deps","private":true}' >"$nm/package.json"
	(cd "$nm" && npm install --no-audit --no-fund --loglevel=error s3rver@3.7.1) >"$tmp/npm.log" 2>&1
fi
if [ ! -f "$s3rver" ]; then
	ok 1 "s3rver 3.7.1 installed in build/node (make deps)" "$(cat "$tmp/npm.log" 2>/dev/null)"
	finish
fi

# Port 0: s3rver picks a free one and says which.
mkdir -p "$tmp/data" "$tmp/home"
node "$s3rver" -d "$tmp/data" -a 127.0.0.1 -p 0 --no-vhost-buckets \
	--configure-bucket bkt </dev/null >"$tmp/s3rver.log" 2>&1 &
pid=$!
port=""
i=0
while [ -z "$port" ] && [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
	port=$(sed -n 's/.*S3rver listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/s3rver.log" 2>/dev/null)
	[ -n "$port" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$port" ]; then
	ok 1 "s3rver starts on 127.0.0.1" "$(cat "$tmp/s3rver.log")"
	finish
fi
ok 0 "s3rver starts on 127.0.0.1:$port"
ep=http://127.0.0.1:$port

# hoist with s3rver's fixed keys, nothing from the caller's AWS settings.
run_hoist() {
	env -u AWS_SESSION_TOKEN -u AWS_PROFILE -u AWS_CONFIG_FILE \
		-u AWS_SHARED_CREDENTIALS_FILE -u AWS_CA_BUNDLE -u XDG_CACHE_HOME \
		HOME="$tmp/home" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
		timeout 120 "$hoist" "$@" >"$tmp/hoist.out" 2>&1
}

check() { # name size hoist-args...
	name=$1; size=$2; shift 2
	head -c "$size" /dev/urandom >"$tmp/$name.in"
	run_hoist cp "$tmp/$name.in" "s3://bkt/$name" --endpoint "$ep" --region us-east-1 "$@"
	rc=$?
	ok $rc "hoist cp $size B $* to s3rver: exit 0" "exit $rc; $(cat "$tmp/hoist.out")"
	curl -sS -f --max-time 60 -o "$tmp/$name.out" "$ep/bkt/$name" >"$tmp/curl.out" 2>&1
	cmp -s "$tmp/$name.in" "$tmp/$name.out"
	ok $? "$size B read back from s3rver equal" "$(cat "$tmp/curl.out")"
}

check small 1000 --jobs 1
check multi $((3 * 5 * 1048576 + 7)) --part-size 5242880 --jobs 8
finish
