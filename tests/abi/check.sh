#!/bin/sh
# tests/abi/check.sh - is libhoist.so's ABI compatible with the baseline?
#
# Usage: sh tests/abi/check.sh [LIBRARY [HEADERS_DIR [BASELINE]]]
#   LIBRARY      default build/libhoist.so.0 (built with -g: without DWARF
#                abidiff sees symbols only, never a struct layout)
#   HEADERS_DIR  the public headers of LIBRARY (default include/): types
#                defined anywhere else are private and ignored
#   BASELINE     default tests/abi/libhoist.abi (make abi-baseline)
#
# Exit 0: compatible (nothing changed, functions added, or a versioned
# options struct grew at its end), or incompatible with the SONAME bumped.
# Exit 1: an incompatible change with the same SONAME; the report says
# what.  Exit 2: the tools failed.
#
# Two abidiff runs in leaf-change mode (each changed type reported once,
# with its own changes): one with tests/abi/libhoist.suppr, which must be
# clean; one without, whose blocks about the versioned structs must hold
# nothing but the size growing and members inserted at or past the old
# size (libabigail's suppression also hides other changes of a type that
# grew at its end; this second look does not).  A member that fits in a
# struct's tail padding leaves its size unchanged and is reported as a
# finding: a false alarm on the safe side (check the layout by hand, then
# make abi-baseline), never a break let through.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:-$top/build/libhoist.so.0}
hdrs=$(cd "${2:-$top/include}" && pwd)
base=${3:-$top/tests/abi/libhoist.abi}
supp=$top/tests/abi/libhoist.suppr
command -v abidiff >/dev/null || { echo "abi: abidiff missing (Debian abigail-tools; make deps)"; exit 2; }
[ -f "$lib" ] && [ -f "$base" ] || { echo "abi: no $lib or no $base"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

old_soname=$(sed -n "s/^<abi-corpus .*soname='\([^']*\)'.*/\1/p" "$base" | head -1)
new_soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')

diffit() { # out [suppressions]
	out=$1; shift
	abidiff --leaf-changes-only --no-added-syms --hd2 "$hdrs" "$@" "$base" "$lib" >"$out" 2>&1
}
diffit "$tmp/supp" --suppressions "$supp"; rc_supp=$?
diffit "$tmp/full"; rc_full=$?
if [ $((rc_supp & 3)) != 0 ] || [ $((rc_full & 3)) != 0 ]; then
	echo "abi: abidiff failed ($rc_supp, $rc_full)"; cat "$tmp/supp"; exit 2
fi

# The blocks of the full report about the versioned structs: anything but
# growth at the end is a finding.
awk '
/^'"'"'/ { opts = ($0 ~ /^'"'"'struct hoist_((engine|upload|download|list|delete)_options|result) at /); name = $0; old = -1; shown = 0; next }
!opts { next }
/^  type size changed from [0-9]+ to [0-9]+ \(in bits\)$/ {
	old = $5; if ($7 + 0 <= old + 0) bad(); next }
/^  [0-9]+ data member insertions?:$/ { next }
/^    '"'"'.*'"'"', at offset [0-9]+ \(in bits\)/ {
	o = $0; sub(/.*, at offset /, "", o); sub(/ .*/, "", o)
	if (old < 0 || o + 0 < old + 0) bad(); next }
/^[ \t]*$/ { next }
{ bad() }
function bad() { if (!shown) print name " not only grown at the end:"; shown = 1; print $0; found = 1 }
END { exit found }
' "$tmp/full" >"$tmp/options"
opts_ok=$?

if [ $((rc_supp & 12)) = 0 ] && [ "$opts_ok" = 0 ]; then
	if [ $((rc_full & 4)) != 0 ]; then
		echo "abi: compatible: versioned options grew at the end (make abi-baseline to record it)"
	else
		echo "abi: compatible with the baseline ($new_soname)"
	fi
	exit 0
fi
if [ -n "$old_soname" ] && [ "$new_soname" != "$old_soname" ]; then
	echo "abi: incompatible, and the SONAME moved from $old_soname to $new_soname: allowed (make abi-baseline to record it)"
	exit 0
fi
echo "abi: INCOMPATIBLE change against tests/abi/libhoist.abi with the same SONAME $new_soname:"
[ "$opts_ok" = 0 ] || cat "$tmp/options"
[ $((rc_supp & 12)) = 0 ] || sed -n '/^Leaf changes summary/,$p' "$tmp/supp"
echo "abi: keep the ABI, or bump SOVERSION in the Makefile and run make abi-baseline"
exit 1
