#!/bin/sh
# Upload one file with Debian's rclone (1.60) to an S3 endpoint.
# usage: rclone-upload.sh FILE BUCKET/KEY ENDPOINT CONCURRENCY CHUNK [extra rclone flags...]
#   CHUNK is an rclone size (8M = 8 MiB; a bare number would mean KiB to rclone)
#   extra, e.g.: --s3-disable-checksum  (skips rclone's whole-file MD5 pre-pass, which it
#                otherwise stores as X-Amz-Meta-Md5chksum before the first part goes out)
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment; they go into a
# private temporary rclone.conf (mode 600, removed on exit), never the user's config.
#
# AWS_CA_BUNDLE is unset because rclone 1.60's aws-sdk-go fails with
# "LoadCustomCABundleError ... unsupported transport" when it is set.  --s3-upload-cutoff 0
# forces multipart; --s3-no-check-bucket and --no-check-dest keep the run to the upload itself.
set -eu
f=$1; dst=$2; ep=$3; conc=$4; chunk=$5; shift 5
unset AWS_CA_BUNDLE
umask 077
cfg=$(mktemp "${TMPDIR:-/tmp}/hoist-rclone.XXXXXX")
trap 'rm -f "$cfg"' EXIT INT TERM
cat >"$cfg" <<CFG
[lo]
type = s3
provider = Other
env_auth = false
access_key_id = $AWS_ACCESS_KEY_ID
secret_access_key = $AWS_SECRET_ACCESS_KEY
endpoint = $ep
region = us-east-1
force_path_style = true
CFG
rclone --config "$cfg" copyto "$f" "lo:$dst" --s3-upload-concurrency "$conc" \
	--s3-chunk-size "$chunk" --s3-upload-cutoff 0 --s3-no-check-bucket --no-check-dest \
	--retries 1 --low-level-retries 1 "$@"
