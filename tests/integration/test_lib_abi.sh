#!/bin/sh
# test_lib_abi - the ABI check passes on the library built now, and fails
# on the changes that break callers.
#
# 1. tests/abi/check.sh on the library just built, against the committed
#    baseline tests/abi/libhoist.abi: compatible.
# 2. The check can fail: scratch copies of hoist.h with one deliberate
#    change each are turned into stub libraries (tests/abi/stub.sh; a stub
#    of the unchanged header must match the baseline first), and each must
#    get the verdict its change deserves:
#      caught:  a member inserted first in hoist_result, hoist_part_info,
#               hoist_upload_options, hoist_engine_options; a member
#               appended to hoist_part_entry (not versioned); an options
#               struct that grew at
#               its end but also retyped its version; an enum value
#               changed; a function removed
#      allowed: a member appended to either options struct or to
#               hoist_result (versioned: the library writes only what the
#               caller's version declares); a function
#               added; a break that comes with a new SONAME
#    An edit that finds no such struct is skipped; one that finds it but
#    changes nothing fails, so that a header rewrite cannot silently turn
#    this test into one that passes whatever the check does.
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${HOIST_BUILD:-$top/build}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0; bad=0
say() { n=$((n + 1)); echo "$1 $n - $2"; }
note() { sed 's/^/#   /' "$1" | head -40; }

if sh "$top/tests/abi/check.sh" "$b/libhoist.so.0" >"$tmp/real" 2>&1; then
	say ok "the library built now is compatible with tests/abi/libhoist.abi"
else
	say "not ok" "the library built now is compatible with tests/abi/libhoist.abi"; note "$tmp/real"; bad=1
fi

# edit NAME KIND ARG: writes $tmp/NAME/hoist.h, a copy of hoist.h with one
# change; returns 1 when the struct or line it needs is absent.
edit() {
	mkdir -p "$tmp/$1"
	awk -v kind="$2" -v arg="$3" '
	BEGIN { inside = 0 }
	kind == "first" && $0 == "struct " arg " {" { print; print "\tint abi_probe;"; next }
	kind == "append" && $0 == "struct " arg " {" { inside = 1 }
	kind == "append" && inside && $0 == "};" { print "\tuint64_t abi_probe;"; inside = 0 }
	kind == "retype" && $0 == "struct " arg " {" { inside = 1 }
	kind == "retype" && inside && $0 ~ /^\tunsigned version;/ { sub(/unsigned version;/, "unsigned long long version;") }
	kind == "retype" && inside && $0 == "};" { print "\tint abi_probe;"; inside = 0 }
	kind == "enum" && $0 == "enum " arg " {" { inside = 1 }
	kind == "enum" && inside && /= 1[,]?( |$)/ && !done { sub(/= 1/, "= 9"); done = 1 }
	kind == "enum" && inside && $0 == "};" { inside = 0 }
	kind == "remove" && index($0, "HOIST_EXTERN") == 1 && $0 ~ ("[ *]" arg "[(]") && /;$/ { next }
	kind == "add" && index($0, "HOIST_EXTERN const char *hoist_version(void);") == 1 {
		print; print "HOIST_EXTERN int hoist_abi_probe(int x);"; next }
	{ print }
	' "$top/include/hoist.h" >"$tmp/$1/hoist.h"
	case $2 in
	first|append|retype) grep -q "^struct $3 {\$" "$top/include/hoist.h" || return 1 ;;
	enum) grep -q "^enum $3 {\$" "$top/include/hoist.h" || return 1 ;;
	remove) grep -q "^HOIST_EXTERN.*[ *]$3(.*;\$" "$top/include/hoist.h" || return 1 ;;
	esac
	return 0
}

# verdict NAME KIND ARG WANT [SONAME]: WANT is "caught" or "allowed".
verdict() {
	name=$1 kind=$2 arg=$3 want=$4 soname=${5:-libhoist.so.0}
	what="$kind $arg${5:+ with SONAME $5}"
	if ! edit "$name" "$kind" "$arg"; then
		say ok "$what # SKIP hoist.h has no such declaration"; return
	fi
	if cmp -s "$top/include/hoist.h" "$tmp/$name/hoist.h" && [ "$kind" != none ]; then
		say "not ok" "$what: the edit changed nothing in hoist.h"; bad=1; return
	fi
	if ! sh "$top/tests/abi/stub.sh" "$tmp/$name" "$tmp/$name/libhoist.so" "$soname" >"$tmp/$name/build" 2>&1; then
		say "not ok" "$what: stub library did not build"; note "$tmp/$name/build"; bad=1; return
	fi
	sh "$top/tests/abi/check.sh" "$tmp/$name/libhoist.so" "$tmp/$name" >"$tmp/$name/out" 2>&1
	rc=$?
	case $want:$rc in
	caught:1|allowed:0) say ok "$what: $want" ;;
	*) say "not ok" "$what: want $want, check.sh exited $rc"; note "$tmp/$name/out"; bad=1 ;;
	esac
}

verdict same none - allowed
verdict res-first first hoist_result caught
verdict part-first first hoist_part_info caught
verdict uopt-first first hoist_upload_options caught
verdict eopt-first first hoist_engine_options caught
verdict res-append append hoist_result allowed
verdict entry-append append hoist_part_entry caught
verdict uopt-retype retype hoist_upload_options caught
verdict enum enum hoist_checksum caught
verdict removed remove hoist_strerror caught
verdict uopt-append append hoist_upload_options allowed
verdict eopt-append append hoist_engine_options allowed
verdict added add - allowed
verdict res-first-bumped first hoist_result allowed libhoist.so.1
echo "1..$n"
exit $bad
