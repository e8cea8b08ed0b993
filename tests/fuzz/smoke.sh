#!/bin/sh
# tests/fuzz/smoke.sh - every libFuzzer target for a few seconds, as TAP.
#
# One "ok N - fuzz_<name>: E execs in S s" line per target (or "not ok" with
# the sanitizer summary as comments); a skip line when clang's libFuzzer is
# missing.  Seconds per target: FUZZ_SMOKE_SECONDS (default 3).  Targets
# run FUZZ_JOBS at a time (default: the CPU count), so ten targets on two
# cores take about 5 batches x 4 s (loading the corpus adds a second) plus
# a parallel build of ~10 s: about 30 s in all.  Building and running are
# tests/fuzz/run.sh's; see there for paths and logs.
# Usage: sh tests/fuzz/smoke.sh [FILTER]
exec sh "$(dirname "$0")/run.sh" --tap "${FUZZ_SMOKE_SECONDS:-3}" "$@"
