#!/bin/sh
# tests/abi/stub.sh - a library with the ABI of a header and nothing else.
#
# Usage: sh tests/abi/stub.sh HEADERS_DIR OUT.so [SONAME]
#
# Every function HEADERS_DIR/hoist.h declares (as gcc -aux-info reads it)
# gets an empty body, compiled with -g against that header and exported
# through a version script, as the real library's are.  Its DWARF then
# describes the same public types the real libhoist.so does, which is all
# abidiff compares: tests/integration/test_lib_abi.sh checks that a stub of
# the unchanged header matches the baseline, then uses stubs of edited
# copies of the header to prove the check catches what it must.
set -eu
hdrs=$1; out=$2; soname=${3:-libhoist.so.0}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '#include "hoist.h"\n' >"$tmp/h.c"
cc -I"$hdrs" -fsyntax-only -aux-info "$tmp/aux" "$tmp/h.c"
grep 'hoist\.h:' "$tmp/aux" | sed 's|^/\*[^*]*\*/ extern ||; s|;$||' >"$tmp/protos"
{
	echo '#include "hoist.h"'
	while read -r proto; do
		case $proto in
		void\ *) echo "$proto {}" ;;
		*) echo "$proto { return 0; }" ;;
		esac
	done <"$tmp/protos"
} >"$tmp/stub.c"
{
	echo 'HOIST_0 {'; echo 'global:'
	sed -n 's/.*[^a-z0-9_]\(hoist_[a-z0-9_]*\) *(.*/	\1;/p' "$tmp/protos"
	echo 'local: *;'; echo '};'
} >"$tmp/map"
# C2x: the prototypes name no parameters, which older C does not allow in
# a definition.
cc -std=gnu2x -g -O0 -fPIC -shared -DHOIST_BUILDING -I"$hdrs" -Wl,-soname,"$soname" \
	-Wl,--version-script="$tmp/map" -o "$out" "$tmp/stub.c"
