#!/bin/sh
# The public header compiles alone, as strict C99 and as C++, with every
# warning an error: callers must not need anything else to include it.
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0; bad=0
check() { # name compiler flags...
	name=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/log" 2>&1; then echo "ok $n - $name"
	else echo "not ok $n - $name"; sed 's/^/#   /' "$tmp/log" | head -20; bad=1; fi
}
printf '#include "hoist.h"\nint main(void) { struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;\n  struct hoist_engine_options e = HOIST_ENGINE_OPTIONS_INIT; (void)o; (void)e;\n  return hoist_strerror(HOIST_OK) == 0; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
check "hoist.h alone: gcc -std=c99 -pedantic -Wall -Wextra -Werror" \
	cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$top/include" -c "$tmp/h.c" -o "$tmp/c.o"
check "hoist.h alone: clang -std=c11 -pedantic -Wall -Wextra -Werror" \
	clang -std=c11 -pedantic -Wall -Wextra -Wmissing-field-initializers -Werror -I"$top/include" -c "$tmp/h.c" -o "$tmp/cl.o"
check "hoist.h from C++11: g++ -pedantic -Wall -Wextra -Werror" \
	c++ -std=c++11 -pedantic -Wall -Wextra -Werror -Wno-missing-field-initializers -I"$top/include" -c "$tmp/h.cpp" -o "$tmp/cpp.o"
echo "1..$n"
exit $bad
