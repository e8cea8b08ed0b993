#!/bin/sh
# tests/fuzz/run.sh - build every libFuzzer target and run each for a while.
#
# Usage: sh tests/fuzz/run.sh [--tap] [--build-only] [SECONDS [FILTER]]
#   SECONDS  how long each target runs (default 60)
#   FILTER   only targets whose name contains it
#   --tap    TAP output, one "ok N - fuzz_x: E execs in S s" line per target
#            (tests/fuzz/smoke.sh uses this)
#
# Every tests/fuzz/fuzz_<name>.c is a target.  It is linked with the core
# sources (engine/buf.c checksum.c sign.c xml.c) plus whatever its comment
# lines of the form
#     // fuzz-sources: engine/foo.c bench/ossemu/bar.c
# name (paths from the repo top; a file with its own main() cannot be
# listed, libFuzzer brings main).  Everything is compiled by clang with the
# project's warning and define flags plus -fsanitize=fuzzer,address,undefined
# (UB aborts), into build/fuzz/.  Sources are rebuilt on every run: it takes
# seconds and never tests a stale object.
#
# Seeds are read from tests/fuzz/corpus/<name>/ (never written); inputs the
# fuzzer finds go to build/fuzz/corpus/<name>/, crash reproducers to
# build/fuzz/artifacts/<name>-*, logs to build/fuzz/logs/<name>.log.
# Reproduce a crash with: build/fuzz/<name> build/fuzz/artifacts/<file>
#
# Exit status 0 when every target built and ran clean.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

tap=0
build_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--tap) tap=1 ;;
	--build-only) build_only=1 ;;
	*) break ;;
	esac
	shift
done
secs=${1:-60}
filter=${2:-}
clang=${FUZZ_CC:-clang}
out=build/fuzz
core="engine/buf.c engine/checksum.c engine/sign.c engine/xml.c"

say() { [ "$tap" = 1 ] && echo "# $*" || echo "fuzz: $*"; }

targets=""
for src in tests/fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	[ -n "$filter" ] && case $name in *"$filter"*) ;; *) continue ;; esac
	targets="$targets $name"
done
ntargets=$(echo $targets | wc -w)

# Without clang and its libFuzzer runtime nothing can run: TAP reports a
# skip (the toolchain is a test dependency, see tests/deps.sh), the plain
# mode fails so that "make fuzz" does not look green.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
	>"$probe_dir/p.c"
if ! "$clang" -fsanitize=fuzzer,address "$probe_dir/p.c" -o "$probe_dir/p" >/dev/null 2>&1; then
	if [ "$tap" = 1 ]; then
		echo "1..1"
		echo "ok 1 - fuzz # SKIP $clang with libFuzzer not available (install clang libclang-rt-14-dev)"
		exit 0
	fi
	echo "fuzz: $clang cannot build libFuzzer targets; install clang and libclang-rt-14-dev (make deps)" >&2
	exit 1
fi

# Library flags from pkg-config, as the Makefile does; the optional ones
# (libmicrohttpd for ossemu sources) join when present.
pkgs=""
for p in openssl libisal expat libcurl hwloc libmicrohttpd; do
	if pkg-config --exists "$p"; then
		pkgs="$pkgs $p"
	else
		case $p in openssl|libisal|expat)
			echo "fuzz: missing library '$p' (run 'make deps')" >&2
			exit 1 ;;
		esac
	fi
done
# shellcheck disable=SC2086
lib_cflags=$(pkg-config --cflags $pkgs)
# shellcheck disable=SC2086
lib_libs="$(pkg-config --libs $pkgs) -lm"

cflags="-std=gnu11 -O1 -g -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 -Wvla
-pthread -fPIC -D_GNU_SOURCE -Iinclude -Iengine -DHOIST_BUILDING
-fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"

mkdir -p "$out/obj" "$out/corpus" "$out/artifacts" "$out/logs"

# compile SRC: sets $obj; an object is compiled once per run and shared
built=" "
compile() {
	obj="$out/obj/$(echo "$1" | sed 's|/|_|g; s|\.c$|.o|')"
	case $built in *" $obj "*) return 0 ;; esac
	# shellcheck disable=SC2086
	$clang $cflags -fsanitize=fuzzer-no-link $lib_cflags -I"$(dirname "$1")" \
		-c "$1" -o "$obj" 2>>"$buildlog" || return 1
	built="$built$obj "
}

n=0
fail=0
[ "$tap" = 1 ] && echo "1..$ntargets"
for name in $targets; do
	n=$((n + 1))
	src="tests/fuzz/$name.c"
	buildlog="$out/logs/$name.build.log"
	: >"$buildlog"
	extra=$(sed -n 's|^[[:space:]]*//[[:space:]]*fuzz-sources:||p' "$src" | tr '\n' ' ')
	objs=""
	seen=" "
	ok=1
	for s in $core $extra; do
		case $seen in *" $s "*) continue ;; esac
		seen="$seen$s "
		if [ ! -f "$s" ]; then
			echo "$src names a missing source: $s" >>"$buildlog"
			ok=0
			break
		fi
		compile "$s" || { ok=0; break; }
		objs="$objs $obj"
	done
	if [ "$ok" = 1 ]; then
		# shellcheck disable=SC2086
		$clang $cflags -fsanitize=fuzzer $lib_cflags -o "$out/$name" "$src" $objs \
			$lib_libs 2>>"$buildlog" || ok=0
	fi
	if [ "$ok" = 0 ]; then
		fail=$((fail + 1))
		if [ "$tap" = 1 ]; then
			echo "not ok $n - $name: build failed (build/fuzz/logs/$name.build.log)"
			head -5 "$buildlog" | sed 's/^/# /'
		else
			echo "fuzz: $name: build failed:" >&2
			head -20 "$buildlog" >&2
		fi
		continue
	fi
	[ "$build_only" = 1 ] && { say "$name built"; continue; }

	log="$out/logs/$name.log"
	mkdir -p "$out/corpus/$name"
	seeds=""
	[ -d "tests/fuzz/corpus/$name" ] && seeds="tests/fuzz/corpus/$name"
	start=$(date +%s)
	# shellcheck disable=SC2086
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
	LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:${LSAN_OPTIONS:-}" \
		"$out/$name" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" \
		"$out/corpus/$name" $seeds >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -1)
	corpus=$(ls "$out/corpus/$name" | wc -l)
	if [ "$rc" = 0 ] && [ -n "$execs" ]; then
		if [ "$tap" = 1 ]; then
			echo "ok $n - $name: $execs execs in $took s"
		else
			echo "fuzz: $name: ok, $execs execs in $took s, corpus $corpus inputs"
		fi
	else
		fail=$((fail + 1))
		if [ "$tap" = 1 ]; then
			echo "not ok $n - $name: exit $rc after ${execs:-?} execs (build/fuzz/logs/$name.log)"
			grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written' "$log" \
				| head -5 | sed 's/^/# /'
		else
			echo "fuzz: $name: FAILED (exit $rc), log $log" >&2
			grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written' "$log" \
				| head -10 >&2
		fi
	fi
done
[ "$tap" = 1 ] || echo "fuzz: $((n - fail)) of $n targets clean"
[ "$fail" = 0 ]
