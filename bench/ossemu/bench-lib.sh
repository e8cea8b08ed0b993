# bench/ossemu/bench-lib.sh - what ossemu's speed scripts share (sourced,
# not run): a tmpfs work directory cleaned up on exit, starting ossemu on a
# data directory there, and the clocks they measure with.
#
# After `bench_setup NAME`: $tmp is a fresh directory under /dev/shm.
# `bench_start ARGS...` starts $ossemu --port 0 (or $bench_port) --data-dir
# $tmp/data (none with --discard) --anonymous --bucket bench ARGS, waits for
# its first line (bench_wait_listening, which a second server may use too)
# and sets $pid and $url.  `server_cpu` prints the server's user+system CPU
# seconds (/proc/PID/stat), `now` the wall clock; both as decimals for awk.
# `bench_peer_configs [S3_LINES]` writes $tmp/rclone.conf (remote "lo") and
# $tmp/aws.conf (path-style addressing, after S3_LINES: more "    key = value"
# lines of its s3 section, each ending in a newline) for the peers, keys
# ak:sk against $url.

bench_setup() {
	bench_name=$1
	[ -x "$ossemu" ] || { echo "$bench_name: build $ossemu first (make build/ossemu)" >&2; exit 1; }
	[ -d /dev/shm ] || { echo "$bench_name: needs /dev/shm (tmpfs)" >&2; exit 1; }
	tmp=$(mktemp -d "/dev/shm/ossemu-$bench_name.XXXXXX")
	pid=""
	trap bench_cleanup EXIT INT TERM
	mkdir "$tmp/data"
	hz=$(getconf CLK_TCK)
}

bench_cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}

bench_start() {
	set -- --data-dir "$tmp/data" "$@"
	case " $* " in *" --discard "*) shift 2 ;; esac # no data to keep
	"$ossemu" --port "${bench_port:-0}" --anonymous --bucket bench "$@" \
		> "$tmp/out" 2> "$tmp/err" &
	pid=$!
	url=$(bench_wait_listening "$tmp/out" "$tmp/err") || exit 1
}

# bench_wait_listening OUT ERR: waits (5 s at most) for the first line an
# ossemu started with stdout OUT and stderr ERR prints, and prints its URL;
# fails with ERR on stderr when it does not come.
bench_wait_listening() {
	i=0
	while ! grep -q "listening" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "$bench_name: ossemu did not start:" >&2; cat "$2" >&2; return 1; }
		sleep 0.05
	done
	sed -n '1s/^ossemu listening on //p' "$1"
}

server_cpu() { awk -v hz="$hz" '{print ($14 + $15) / hz}' "/proc/$pid/stat"; }
now() { date +%s.%N; }

bench_peer_configs() {
	cat > "$tmp/rclone.conf" <<CFG
[lo]
type = s3
provider = Other
env_auth = false
access_key_id = ak
secret_access_key = sk
endpoint = $url
region = us-east-1
force_path_style = true
CFG
	cat > "$tmp/aws.conf" <<CFG
[default]
region = us-east-1
s3 =
${1:-}    addressing_style = path
CFG
}
