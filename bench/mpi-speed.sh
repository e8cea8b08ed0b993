#!/bin/sh
# bench/mpi-speed.sh - hoist-mpi with 1, 2 and 4 ranks beside one plain
# hoist with the same total parts in flight (issue 17).
#
# Makes a SIZE_MIB file on tmpfs, starts `ossemu --discard --anonymous`
# with a per-connection bandwidth cap (and a latency: a WAN), and uploads
# it ROUNDS times with each engine, interleaved, the first round
# discarded:
#   hoist-J       hoist cp --jobs J (one process, J parts in flight at most)
#   hoist-NJ      hoist cp --jobs N*J (what N ranks have in flight together)
#   mpi-N         mpirun -np N hoist-mpi cp --jobs J (N = 1, 2, 4)
# and prints per engine the median wall time, MB/s, client CPU seconds
# (user + system of the whole process tree, GNU time) and peak RSS (of the
# largest process).  On one 2-core host ranks only add connections and
# processes: the rows show what the split costs, not what more hosts bring
# (README, "Many hosts").  A benchmark, not a test.
#
# Usage: flock /tmp/hoist-bench.lock sh bench/mpi-speed.sh [SIZE_MIB] [ROUNDS] [MBPS] [LATENCY_MS] [J]
#   defaults: 1024 MiB, 4 rounds, 25 MB/s per connection, 30 ms, J 16.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${HOIST_BUILD:-$top/build}
size=${1:-1024}
rounds=${2:-4}
mbps=${3:-25}
lat=${4:-30}
j=${5:-16}
for f in "$b/hoist" "$b/hoist-mpi" "$b/ossemu"; do
	[ -x "$f" ] || { echo "mpi-speed: $f missing (make; make deps for Open MPI)" >&2; exit 1; }
done
command -v mpirun >/dev/null || { echo "mpi-speed: no mpirun (make deps)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "mpi-speed: needs GNU time (/usr/bin/time)" >&2; exit 1; }

tmp=$(mktemp -d /dev/shm/hoist-mpi.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

head -c $((size * 1048576)) /dev/urandom >"$tmp/f"
"$b/ossemu" --port 0 --bucket bkt --anonymous --discard --conn-bandwidth "$mbps" \
	--latency "$lat" >"$tmp/ossemu.out" 2>"$tmp/ossemu.err" &
pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	url=$(sed -n 's/^ossemu listening on //p' "$tmp/ossemu.out")
	[ -n "$url" ] && break
	sleep 0.2
done
[ -n "$url" ] || { echo "mpi-speed: ossemu did not start" >&2; exit 1; }

run_one() { # engine round
	e=$1
	case $e in
	hoist-J) set -- "$b/hoist" cp "$tmp/f" oss://bkt/f --endpoint "$url" --jobs "$j" --quiet ;;
	hoist-NJ) set -- "$b/hoist" cp "$tmp/f" oss://bkt/f --endpoint "$url" --jobs $((4 * j)) --quiet ;;
	mpi-*) n=${e#mpi-}
		set -- mpirun --allow-run-as-root --oversubscribe -np "$n" "$b/hoist-mpi" cp "$tmp/f" \
			oss://bkt/f --endpoint "$url" --jobs "$j" --no-resume --quiet ;;
	esac
	/usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" ||
		{ echo "mpi-speed: $e failed: $(tail -2 "$tmp/err")" >&2; return 1; }
	echo "$e $(cat "$tmp/time")" >>"$tmp/results"
}

engines="hoist-J hoist-NJ mpi-1 mpi-2 mpi-4"
r=0
while [ "$r" -le "$rounds" ]; do
	for e in $engines; do
		if [ "$r" = 0 ]; then
			run_one "$e" && sed -i '$d' "$tmp/results" # warm-up, discarded
		else
			run_one "$e"
		fi
	done
	r=$((r + 1))
done

echo "# $size MiB, ossemu --discard --conn-bandwidth $mbps --latency $lat, J=$j, $rounds rounds (median)"
printf '%-10s %8s %9s %8s %9s\n' engine wall_s MB/s cpu_s rss_MiB
for e in $engines; do
	grep "^$e " "$tmp/results" | awk -v size="$size" -v e="$e" '
	{ w[NR] = $2; c[NR] = $3 + $4; m[NR] = $5 }
	END {
		n = NR; for (i = 1; i <= n; i++) for (k = i + 1; k <= n; k++) {
			if (w[k] < w[i]) { t = w[i]; w[i] = w[k]; w[k] = t }
			if (c[k] < c[i]) { t = c[i]; c[i] = c[k]; c[k] = t }
			if (m[k] < m[i]) { t = m[i]; m[i] = m[k]; m[k] = t } }
		h = int((n + 1) / 2)
		printf "%-10s %8.2f %9.0f %8.2f %9.1f\n", e, w[h], size * 1.048576 / w[h], c[h], m[h] / 1024 }'
done
