#!/bin/sh
# The transport ceiling: N parallel curl processes PUT the parts of one multipart upload,
# unsigned, into an ossemu started with --anonymous.  No hashing, no signing: only what
# every uploader must at least do (read the bytes, move them over HTTP/1.1 keep-alive).
# usage: curl-parts.sh ENDPOINT BUCKET KEY N PARTFILE...
#   PARTFILEs are the file's parts in order (part i is the i-th argument); process k
#   (0..N-1) sends parts k+1, k+1+N, ... over one connection.  Prints one JSON line.
# The upload is initiated first (POST ?uploads) and aborted at the end (DELETE ?uploadId):
# both are tiny requests and inside the timed region, like an uploader's own.
set -eu
ep=$1; bucket=$2; key=$3; n=$4; shift 4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hoist-curl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
t0=$(date +%s.%N)
curl -sS --fail -X POST -o "$tmp/init.xml" "$ep/$bucket/$key?uploads"
id=$(sed -n 's:.*<UploadId>\([^<]*\)</UploadId>.*:\1:p' "$tmp/init.xml")
[ -n "$id" ] || { echo "curl-parts: no UploadId in the Initiate response" >&2; exit 1; }
# One curl config per process: "url" / "upload-file" / "output" triples, one per part.
i=1
for p in "$@"; do
	k=$(( (i - 1) % n ))
	printf 'url = "%s/%s/%s?partNumber=%d&uploadId=%s"\nupload-file = "%s"\noutput = "/dev/null"\n' \
		"$ep" "$bucket" "$key" "$i" "$id" "$p" >>"$tmp/cfg.$k"
	i=$((i + 1))
done
# "Expect:" off: curl would otherwise wait for 100-continue before every part body.
k=0; pids=""
while [ "$k" -lt "$n" ] && [ -f "$tmp/cfg.$k" ]; do
	curl -sS --fail --fail-early -H 'Expect:' -K "$tmp/cfg.$k" &
	pids="$pids $!"
	k=$((k + 1))
done
rc=0
for p in $pids; do wait "$p" || rc=1; done
curl -sS --fail -X DELETE -o /dev/null "$ep/$bucket/$key?uploadId=$id" || rc=1
t1=$(date +%s.%N)
[ "$rc" = 0 ] || { echo "curl-parts: a part upload failed" >&2; exit 1; }
awk -v a="$t0" -v b="$t1" -v p=$((i - 1)) -v k="$k" \
	'BEGIN { printf "{\"seconds\": %.6f, \"parts\": %d, \"processes\": %d}\n", b - a, p, k }'
