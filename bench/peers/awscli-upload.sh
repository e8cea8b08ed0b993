#!/bin/sh
# Upload one file with Debian's aws-cli v2 (/usr/bin/aws) and its multipart transfer manager.
# usage: awscli-upload.sh FILE s3://BUCKET/KEY ENDPOINT CONCURRENCY CHUNK_BYTES
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment.
#
# Why: /usr/bin/aws explicitly, because an older "aws" may come first on PATH.
# A private AWS_CONFIG_FILE (never ~/.aws) sets the two knobs that matter for a
# side-by-side run: max_concurrent_requests (= the harness's jobs) and
# multipart_chunksize (= the part size); multipart_threshold is lowered so
# every file goes multipart.  Over plain HTTP aws-cli SHA-256s every payload
# byte for SigV4: that is its real cost and is measured as such.
set -eu
f=$1; dst=$2; ep=$3; conc=$4; chunk=$5
cfg=$(mktemp "${TMPDIR:-/tmp}/hoist-awscfg.XXXXXX")
trap 'rm -f "$cfg"' EXIT INT TERM
cat >"$cfg" <<CFG
[default]
region = us-east-1
s3 =
    max_concurrent_requests = $conc
    max_queue_size = $((conc * 2 > 1000 ? conc * 2 : 1000))
    multipart_threshold = 5MB
    multipart_chunksize = $chunk
    addressing_style = path
CFG
export AWS_CONFIG_FILE="$cfg" AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_DEFAULT_REGION=us-east-1
/usr/bin/aws --endpoint-url "$ep" s3 cp --no-progress --only-show-errors "$f" "$dst"
