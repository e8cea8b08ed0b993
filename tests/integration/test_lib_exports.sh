#!/bin/sh
# test_lib_exports - libhoist exports exactly the API of include/hoist.h.
#
# The list of functions hoist.h declares comes from the compiler's own
# reading of the header (gcc -aux-info), not from the Makefile's sed that
# writes the version script, so a declaration the sed misses (or a name it
# should not match) shows up here as a difference:
#   - the .so's defined dynamic symbols (nm -D --defined-only) are exactly
#     those functions, each versioned HOIST_0, and its SONAME is
#     libhoist.so.0;
#   - the public archive libhoist.a defines no global symbol but those
#     functions (internal names such as md5_init, buf_append, request_new,
#     hoist__in_callback are local to its one prelinked object);
#   - the internal archive, for unit tests only, still has the internals.
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${HOIST_BUILD:-$top/build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0; bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; bad=1; shift; for f in "$@"; do sed 's/^/#   /' "$f" | head -30; done; }
check_same() { # name want got
	if diff -u "$2" "$3" >"$tmp/diff"; then ok "$1"; else notok "$1" "$tmp/diff"; fi
}

printf '#include "hoist.h"\n' >"$tmp/h.c"
cc -I"$top/include" -fsyntax-only -aux-info "$tmp/aux" "$tmp/h.c"
grep 'hoist\.h:' "$tmp/aux" | sed -n 's/.*[^a-z0-9_]\(hoist_[a-z0-9_]*\) *(.*/\1/p' | sort -u >"$tmp/api"
count=$(wc -l <"$tmp/api")
if [ "$count" -ge 19 ]; then ok "hoist.h declares $count functions (gcc -aux-info)"
else notok "hoist.h declares only $count functions?" "$tmp/api"; fi

so="$b/libhoist.so.0"
nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^HOIST_0$' >"$tmp/so-raw"
sed 's/@@HOIST_0$//' "$tmp/so-raw" | sort >"$tmp/so"
check_same "libhoist.so.0 exports exactly the functions of hoist.h" "$tmp/api" "$tmp/so"
if grep -qv '@@HOIST_0$' "$tmp/so-raw"; then notok "every export is versioned HOIST_0" "$tmp/so-raw"
else ok "every export is versioned HOIST_0"; fi
if readelf -d "$so" | grep -q 'Library soname: \[libhoist.so.0\]'; then ok "SONAME libhoist.so.0"
else readelf -d "$so" >"$tmp/dyn"; notok "SONAME libhoist.so.0" "$tmp/dyn"; fi

# Global definitions of the public archive: T, D, B, R, W, V, i ... (upper case,
# and GNU ifunc 'i'), anything but undefined ('U') and local (lower case).
nm --defined-only "$b/libhoist.a" | awk 'NF == 3 && $2 ~ /^[A-Zi]$/ {print $3}' | sort >"$tmp/a"
check_same "libhoist.a defines no global name but the functions of hoist.h" "$tmp/api" "$tmp/a"
for name in md5_init buf_append request_new loop_new hoist__in_callback; do
	if nm "$b/libhoist.a" | grep -q " [a-z] $name\$"; then ok "libhoist.a: $name is local"
	else nm "$b/libhoist.a" | grep "$name" >"$tmp/sym"; notok "libhoist.a: $name is local" "$tmp/sym"; fi
done
if nm --defined-only "$b/libhoist-internal.a" 2>/dev/null | grep -q ' T request_new$'; then
	ok "libhoist-internal.a keeps the internals for unit tests"
else notok "libhoist-internal.a keeps the internals for unit tests"; fi
echo "1..$n"
exit $bad
