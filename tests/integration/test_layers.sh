#!/bin/sh
# test_layers.sh - layers point down (issue 11).
#
# Reads the layer table of ARCHITECTURE.md (the rows after the
# "<!-- layers:" marker: "| N name | file file ... |") and checks every
# #include "x.h" in the tree against it:
#   - an engine file includes only headers of its own layer or lower;
#   - every engine/*.c and *.h has a layer in the table;
#   - the CLI (engine/cli) includes no engine header but hoist.h;
#   - ossemu (bench/ossemu) includes no engine header outside the core
#     it links (buf, checksum, sign, xml).
# Then it proves it can fail: a copy of the tree where a base file
# includes an API header, and one with an engine file missing from the
# table, must both be refused.  TAP output.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# check ROOT: prints one line per violation, exits 1 if there is any.
check() {
	# Headers of a directory's own shadow engine headers of the same name
	# ("x.h" is looked up beside the including file first).
	own_ossemu=$(cd "$1/bench/ossemu" && ls *.h | tr '\n' ' ')
	own_cli=$(cd "$1/engine/cli" && ls *.h | tr '\n' ' ')
	awk -v root="$1" -v own_ossemu="$own_ossemu" -v own_cli="$own_cli" '
	function base(f,   b) { b = f; sub(/.*\//, "", b); sub(/\.[ch]$/, "", b); return b }
	BEGIN {
		n = split(own_ossemu, o, " "); for (i = 1; i <= n; i++) mine["ossemu", o[i]] = 1
		n = split(own_cli, o, " "); for (i = 1; i <= n; i++) mine["cli", o[i]] = 1
	}
	FNR == NR {
		if ($0 ~ /<!-- layers:/) { intable = 1; next }
		if (intable && $0 ~ /^\| *[0-9]+ /) {
			split($0, cell, "|")
			split(cell[2], head, " ")
			nf = split(cell[3], files, " ")
			for (i = 1; i <= nf; i++) layer[files[i]] = head[1] + 0
			next
		}
		if (intable && $0 ~ /^\| *layer/) next
		if (intable && $0 ~ /^\|---/) next
		if (intable && $0 !~ /^\|/) intable = 0
		next
	}
	FNR == 1 {
		file = FILENAME; rel = substr(file, length(root) + 2)
		kind = rel ~ /^engine\/cli\// ? "cli" : rel ~ /^bench\/ossemu\// ? "ossemu" : "engine"
		if (kind == "engine") {
			me = base(rel)
			if (!(me in layer)) { print rel ": no layer in ARCHITECTURE.md"; bad = 1; me = "" }
		}
	}
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
		b = base(inc)
		if ((kind, inc) in mine) next
		if (kind == "cli") {
			if (b in layer) { print rel ": the CLI includes the engine header " inc; bad = 1 }
		} else if (kind == "ossemu") {
			if ((b in layer) && b != "buf" && b != "checksum" && b != "sign" && b != "xml") {
				print rel ": ossemu includes the engine header " inc; bad = 1
			}
		} else if (me != "" && (b in layer) && layer[b] > layer[me]) {
			print rel ": layer " layer[me] " includes " inc " of layer " layer[b]; bad = 1
		}
	}
	END { exit bad ? 1 : 0 }
	' "$1/ARCHITECTURE.md" $(cd "$1" && ls engine/*.[ch] engine/cli/*.[ch] bench/ossemu/*.[ch] | sed "s|^|$1/|")
}

out=$(check "$top")
if [ $? = 0 ]; then
	ok "every include points down the layers of ARCHITECTURE.md"
else
	notok "every include points down the layers of ARCHITECTURE.md"
	echo "$out" | sed 's/^/#   /'
fi
rows=$(awk '/<!-- layers:/ { t = 1; next } t && /^\| *[0-9]+ / { c++ } t && !/^\|/ { t = 0 } END { print c + 0 }' "$top/ARCHITECTURE.md")
if [ "$rows" -ge 4 ]; then ok "the layer table has $rows layers"; else notok "the layer table has $rows layers (expected 4)"; fi

# The check must be able to fail.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mk() {
	rm -rf "$scratch/t" && mkdir -p "$scratch/t/engine/cli" "$scratch/t/bench/ossemu"
	cp "$top/ARCHITECTURE.md" "$scratch/t/"
	cp "$top"/engine/*.[ch] "$scratch/t/engine/"
	cp "$top"/engine/cli/*.[ch] "$scratch/t/engine/cli/"
	cp "$top"/bench/ossemu/*.[ch] "$scratch/t/bench/ossemu/"
}
mk
printf '#include "engine.h"\n' >> "$scratch/t/engine/buf.c"
if check "$scratch/t" >/dev/null; then notok "a base file including engine.h is refused"; else ok "a base file including engine.h is refused"; fi
mk
printf '/* x */\n' > "$scratch/t/engine/unlisted.c"
if check "$scratch/t" >/dev/null; then notok "an engine file without a layer is refused"; else ok "an engine file without a layer is refused"; fi
mk
printf '#include "upload.h"\n' >> "$scratch/t/engine/cli/cp.c"
if check "$scratch/t" >/dev/null; then notok "the CLI including an engine header is refused"; else ok "the CLI including an engine header is refused"; fi
echo "1..$n"
[ "$fails" = 0 ]
