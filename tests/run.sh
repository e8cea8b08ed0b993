#!/bin/sh
# tests/run.sh - run every test and print one "N passed, N failed" line.
#
# Each test is an executable that speaks TAP ("ok ..." / "not ok ..." lines).
# Unit tests are cmocka binaries (run with TAP output); integration and
# interop tests are scripts under tests/integration and tests/interop.
# Suites:
#   plain : unit + integration + interop against build/
#   asan  : unit + integration + interop against build/san-address (ASan+UBSan;
#           real clients then drive an instrumented ossemu)
#   tsan  : the threaded integration tests (tests/integration/*tsan*) and unit
#           tests against build/san-thread
# A test that exits non-zero without a "not ok" line counts as one failure.
# Usage: sh tests/run.sh [--quick] [FILTER]   (--quick: plain suite only)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=0
[ "${1:-}" = --quick ] && { quick=1; shift; }
filter=${1:-}
pass=0; fail=0; failed_names=""
logdir="$top/build/test-logs"
mkdir -p "$logdir"

run_one() { # suite name cmd...
	suite=$1; name=$2; shift 2
	[ -n "$filter" ] && case "$name" in *"$filter"*) ;; *) return ;; esac
	log="$logdir/$suite-$(basename "$name").log"
	start=$(date +%s)
	CMOCKA_MESSAGE_OUTPUT=TAP "$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; echo "not ok - $name ran no test" >>"$log"; fi
	pass=$((pass + p)); fail=$((fail + f))
	end=$(date +%s)
	if [ "$f" != 0 ]; then
		failed_names="$failed_names $suite:$name"
		echo "[$suite] $name: $p passed, $f failed ($((end - start))s) -- log: build/test-logs/$(basename "$log")"
		grep -E '^not ok |Error|error:|ERROR|FAIL' "$log" | head -20 | sed 's/^/    /'
	else
		echo "[$suite] $name: $p passed ($((end - start))s)"
	fi
}

suite() { # suite builddir kinds
	s=$1; b=$2; kinds=$3
	export HOIST_BUILD="$top/$b" HOIST_SUITE="$s"
	export HOIST_BIN="$top/$b/hoist" OSSEMU_BIN="$top/$b/ossemu"
	case $kinds in *unit*)
		for t in "$b"/tests/test_*; do [ -x "$t" ] && run_one "$s" "$(basename "$t")" "$t"; done ;;
	esac
	case $kinds in *integration*)
		for t in tests/integration/*.py tests/integration/*.sh; do
			[ -f "$t" ] || continue
			case $kinds in *tsanonly*) case $t in *tsan*|*thread*) ;; *) continue ;; esac ;; esac
			case $t in *.py) run_one "$s" "$t" /usr/bin/python3 "$t" ;; *) run_one "$s" "$t" sh "$t" ;; esac
		done ;;
	esac
	case $kinds in *interop*)
		for t in tests/interop/*.py tests/interop/*.sh tests/interop/*.js; do
			[ -f "$t" ] || continue
			case $t in
			*.py) run_one "$s" "$t" /usr/bin/python3 "$t" ;;
			*.js) run_one "$s" "$t" env NODE_PATH="$top/build/node/node_modules" node "$t" ;;
			*) run_one "$s" "$t" sh "$t" ;;
			esac
		done ;;
	esac
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp:${TSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:${LSAN_OPTIONS:-}"

suite plain build "unit integration interop"
if [ "$quick" = 0 ]; then
	[ -d build/san-address ] && suite asan build/san-address "unit integration interop"
	[ -d build/san-thread ] && suite tsan build/san-thread "unit integration tsanonly"
	# Harness smoke run and fuzz smoke, when present.
	[ -f bench/smoke.sh ] && run_one plain bench/smoke.sh sh bench/smoke.sh
	[ -f tests/fuzz/smoke.sh ] && run_one plain tests/fuzz/smoke.sh sh tests/fuzz/smoke.sh
fi

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
