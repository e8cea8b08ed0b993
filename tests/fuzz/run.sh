#!/bin/sh
# tests/fuzz/run.sh - build every libFuzzer target and run each for a while.
#
# Usage: sh tests/fuzz/run.sh [--tap] [--build-only] [SECONDS [FILTER]]
#   SECONDS  how long each target runs (default 60)
#   FILTER   only targets whose name contains it
#   --tap    TAP output, one "ok N - fuzz_x: E execs in S s" line per target
#            (tests/fuzz/smoke.sh uses this)
#   FUZZ_JOBS  compilers and fuzzers run at once (default: the CPU count);
#            targets run in batches of that many, so the whole run takes
#            about SECONDS * targets / FUZZ_JOBS plus the build
#
# Every tests/fuzz/fuzz_<name>.c is a target.  It is linked with the core
# sources (the Makefile's CORE_SRC: engine/buf.c checksum.c md5mb*.c sign.c
# xml.c) plus whatever its comment lines of the form
#     // fuzz-sources: engine/foo.c bench/ossemu/bar.c
# name (paths from the repo top; a file with its own main() cannot be
# listed, libFuzzer brings main; several such lines add up; "@engine" is
# all of the library's sources outside the core).  The target
# itself sees the directories of those sources first on its include path,
# so it can use their private headers (bench/ossemu/callback.h, not
# engine/callback.h).  Everything is compiled by clang with the project's
# warning and define flags plus -fsanitize=fuzzer,address,undefined (UB
# aborts), into build/fuzz/.  Sources are rebuilt on every run: it takes
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

# --compile-one SRC and --link-one NAME are this script calling itself
# through xargs -P (the parallel build); not for people.
mode=run
case ${1:-} in --compile-one|--link-one) mode=$1; shift ;; esac

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
clang=${FUZZ_CC:-clang}
out=build/fuzz
core="engine/buf.c engine/checksum.c engine/md5mb.c engine/md5mb_avx2.c engine/md5mb_avx512.c
engine/sign.c engine/xml.c"
jobs=${FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

# Library flags from pkg-config, as the Makefile does; the optional ones
# (libmicrohttpd and jansson for ossemu sources) join when present.
pkgs=""
for p in openssl libisal expat libcurl hwloc libmicrohttpd jansson; do
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

objname() { echo "$out/obj/$(echo "$1" | sed 's|/|_|g; s|\.c$|.o|')"; }
# The fuzz-sources of target NAME.
# "@engine" stands for every engine source outside the core (a target that
# links the whole library, which a new engine file must not break).
engine_all() { for f in engine/*.c; do case " $core " in *" $f "*) ;; *) printf '%s ' "$f" ;; esac; done; }
extra_of() {
	for w in $(sed -n 's|^[[:space:]]*//[[:space:]]*fuzz-sources:||p' "tests/fuzz/$1.c"); do
		if [ "$w" = @engine ]; then engine_all; else printf '%s ' "$w"; fi
	done
}

# One source to one object; a failed compile leaves no object (its errors
# are in OBJ.log), so no stale object is ever linked.
if [ "$mode" = --compile-one ]; then
	obj=$(objname "$1")
	rm -f "$obj" "$obj.log"
	# shellcheck disable=SC2086
	$clang $cflags -fsanitize=fuzzer-no-link $lib_cflags -I"$(dirname "$1")" \
		-c "$1" -o "$obj" 2>"$obj.log" || rm -f "$obj"
	exit 0
fi

# One target: its objects (already compiled) plus its own file; the binary
# exists afterwards only if everything built (errors in NAME.build.log).
if [ "$mode" = --link-one ]; then
	name=$1
	src="tests/fuzz/$name.c"
	buildlog="$out/logs/$name.build.log"
	rm -f "$out/$name"
	: >"$buildlog"
	extra=$(extra_of "$name")
	# The target sees the private headers beside the sources it names.
	incs=""
	for d in $(for s in $extra; do dirname "$s"; done | sort -u); do
		incs="$incs -I$d"
	done
	objs=""
	seen=" "
	for s in $core $extra; do
		case $seen in *" $s "*) continue ;; esac
		seen="$seen$s "
		obj=$(objname "$s")
		if [ ! -f "$s" ]; then
			echo "$src names a missing source: $s" >>"$buildlog"
			exit 0
		fi
		if [ ! -f "$obj" ]; then
			cat "$obj.log" >>"$buildlog" 2>/dev/null
			exit 0
		fi
		objs="$objs $obj"
	done
	# shellcheck disable=SC2086
	$clang $incs $cflags -fsanitize=fuzzer $lib_cflags -o "$out/$name" "$src" $objs \
		$lib_libs 2>>"$buildlog" || rm -f "$out/$name"
	exit 0
fi

secs=${1:-60}
filter=${2:-}

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

mkdir -p "$out/obj" "$out/corpus" "$out/artifacts" "$out/logs"

# Build: every source some target names, once, then every target, each
# step $jobs at a time.
# shellcheck disable=SC2086
for name in $targets; do
	echo $core $(extra_of "$name") | tr ' ' '\n'
done | sed '/^$/d' | sort -u | while read -r s; do
	[ -f "$s" ] && echo "$s"
done | xargs -r -P "$jobs" -n 1 sh "$0" --compile-one
# shellcheck disable=SC2086
printf '%s\n' $targets | xargs -r -P "$jobs" -n 1 sh "$0" --link-one

# run_one N NAME: fuzzes NAME for $secs; its report lines go to
# NAME.result (stdout) and NAME.fail (stderr in plain mode, TAP comments).
run_one() {
	n=$1
	name=$2
	log="$out/logs/$name.log"
	res="$out/logs/$name.result"
	failf="$out/logs/$name.fail"
	: >"$res"
	: >"$failf"
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
			echo "ok $n - $name: $execs execs in $took s" >"$res"
		else
			echo "fuzz: $name: ok, $execs execs in $took s, corpus $corpus inputs" >"$res"
		fi
		return 0
	fi
	if [ "$tap" = 1 ]; then
		echo "not ok $n - $name: exit $rc after ${execs:-?} execs (build/fuzz/logs/$name.log)" >"$res"
	else
		echo "fuzz: $name: FAILED (exit $rc), log $log" >"$failf"
	fi
	grep -aE '^==[0-9]+==ERROR|SUMMARY|runtime error|check failed|Test unit written' "$log" \
		| head -"$([ "$tap" = 1 ] && echo 5 || echo 10)" \
		| { if [ "$tap" = 1 ]; then sed 's/^/# /' >>"$res"; else cat >>"$failf"; fi; }
	return 1
}

# report NAME: prints what run_one left and says whether it passed.
report() {
	cat "$out/logs/$1.result"
	cat "$out/logs/$1.fail" >&2
	[ ! -s "$out/logs/$1.fail" ] && ! grep -q '^not ok' "$out/logs/$1.result"
}

n=0
fail=0
batch=""
inbatch=0
[ "$tap" = 1 ] && echo "1..$ntargets"
flush() {
	wait
	for b in $batch; do
		report "$b" || fail=$((fail + 1))
	done
	batch=""
	inbatch=0
}
for name in $targets; do
	n=$((n + 1))
	if [ ! -x "$out/$name" ]; then
		flush
		fail=$((fail + 1))
		if [ "$tap" = 1 ]; then
			echo "not ok $n - $name: build failed (build/fuzz/logs/$name.build.log)"
			head -5 "$out/logs/$name.build.log" | sed 's/^/# /'
		else
			echo "fuzz: $name: build failed:" >&2
			head -20 "$out/logs/$name.build.log" >&2
		fi
		continue
	fi
	if [ "$build_only" = 1 ]; then
		say "$name built"
		continue
	fi
	run_one "$n" "$name" &
	batch="$batch $name"
	inbatch=$((inbatch + 1))
	[ "$inbatch" -ge "$jobs" ] && flush
done
flush
[ "$tap" = 1 ] || echo "fuzz: $((n - fail)) of $n targets $([ "$build_only" = 1 ] && echo built || echo clean)"
[ "$fail" = 0 ]
