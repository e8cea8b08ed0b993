#!/bin/sh
# bench/startup-speed.sh - what one small transfer costs from exec to exit:
# a script that calls hoist once per file pays it per file (issue 16).
#
# Starts `ossemu --discard` twice, over HTTP and over HTTPS (a certificate
# made here with the openssl command; clients trust a bundle of the
# system's CA store plus it, so that loading the CA bundle costs what the
# system store costs), and runs each engine RUNS times per round, ROUNDS
# rounds interleaved, the first discarded:
#   loader      hoist --version: the dynamic loader and libcurl's ~30
#               libraries, which any program linking Debian's libcurl pays
#   hoist       hoist cp of a 1-byte file (default checksums), HTTP
#   curl        curl -T of the same file, unsigned, HTTP
#   curl-signed the same, signed (--aws-sigv4, UNSIGNED-PAYLOAD as hoist's
#               S3 path sends): the reference for hoist, since the first
#               HMAC costs any OpenSSL 3 program ~3M instructions (its
#               name map), which an unsigned request never pays
#   hoist-tls   the same as hoist over HTTPS, trusting as it does by
#               default: a hashed directory (SSL_CERT_DIR: the system's
#               hash links and the certificate), read as handshakes need
#   hoist-tls-bundle  the same with --cacert BUNDLE: what hoist did by
#               default before, parsing libcurl's whole bundle
#   curl-tls    the same as curl over HTTPS (--cacert BUNDLE: curl's
#               default, the system bundle, plus the certificate)
#   rclone      rclone copyto (S3 dialect), HTTP
#   aws-cli     aws s3 cp, HTTP
# and prints per engine the median CPU milliseconds per run (user + system
# of the child, getrusage), wall milliseconds, minor page faults, and
# hoist's CPU beyond curl's for the same request (hoist: curl-signed;
# hoist-tls and hoist-tls-bundle: curl-tls, which pays the name map for
# TLS).  A peer that is not installed is skipped.  A benchmark, not a test.
#
# Usage: flock /tmp/hoist-bench.lock sh bench/startup-speed.sh [RUNS] [ROUNDS]
#   defaults: 30 runs, 5 rounds.  ENGINES="hoist curl" picks engines;
#   HOIST_BIN / OSSEMU_BIN override build/hoist / build/ossemu.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
hoist=${HOIST_BIN:-$top/build/hoist}
ossemu=${OSSEMU_BIN:-$top/build/ossemu}
runs=${1:-30}
rounds=${2:-5}
engines=${ENGINES:-loader hoist curl curl-signed hoist-tls hoist-tls-bundle curl-tls rclone aws-cli}
[ -x "$hoist" ] && [ -x "$ossemu" ] || { echo "startup-speed: build first (make)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "startup-speed: needs the openssl command" >&2; exit 1; }

. "$top/bench/ossemu/bench-lib.sh"
bench_setup startup-speed
tls_pid=""
trap '[ -n "$tls_pid" ] && kill "$tls_pid" 2>/dev/null; bench_cleanup' EXIT INT TERM

printf x >"$tmp/one"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$tmp/key.pem" -out "$tmp/crt.pem" -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
ca=/etc/ssl/certs/ca-certificates.crt
{ [ -f "$ca" ] && cat "$ca"; cat "$tmp/crt.pem"; } >"$tmp/bundle.pem"
mkdir "$tmp/certs"
for f in /etc/ssl/certs/*.[0-9]; do
	[ -e "$f" ] && ln -s "$f" "$tmp/certs/"
done
h=$(openssl x509 -hash -noout -in "$tmp/crt.pem")
k=0
while [ -e "$tmp/certs/$h.$k" ]; do k=$((k + 1)); done
cp "$tmp/crt.pem" "$tmp/certs/$h.$k"

bench_start --key ak:sk --discard
"$ossemu" --port 0 --anonymous --bucket bench --key ak:sk --discard \
	--tls-cert "$tmp/crt.pem" --tls-key "$tmp/key.pem" >"$tmp/tls.out" 2>"$tmp/tls.err" &
tls_pid=$!
tls_url=$(bench_wait_listening "$tmp/tls.out" "$tmp/tls.err") || exit 1
bench_peer_configs
export OSS_ACCESS_KEY_ID=ak OSS_ACCESS_KEY_SECRET=sk

# One line per engine: NAME<TAB>argv joined by \037 (paths have no such byte).
: >"$tmp/engines"
add() { # name argv...
	n=$1; shift
	printf '%s\t' "$n" >>"$tmp/engines"
	printf '%s\037' "$@" >>"$tmp/engines"
	printf '\n' >>"$tmp/engines"
}
for e in $engines; do
	case $e in
	loader) add "$e" "$hoist" --version ;;
	hoist) add "$e" "$hoist" cp "$tmp/one" oss://bench/h --endpoint "$url" --quiet ;;
	curl) add "$e" curl -sS --fail -T "$tmp/one" "$url/bench/c" -o /dev/null ;;
	curl-signed) add "$e" curl -sS --fail --aws-sigv4 aws:amz:us-east-1:s3 --user ak:sk \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$tmp/one" "$url/bench/s" -o /dev/null ;;
	hoist-tls) add "$e" env SSL_CERT_DIR="$tmp/certs" "$hoist" cp "$tmp/one" oss://bench/h \
		--endpoint "$tls_url" --quiet ;;
	hoist-tls-bundle) add "$e" "$hoist" cp "$tmp/one" oss://bench/h --endpoint "$tls_url" --quiet \
		--cacert "$tmp/bundle.pem" ;;
	curl-tls) add "$e" curl -sS --fail --cacert "$tmp/bundle.pem" -T "$tmp/one" "$tls_url/bench/c" \
		-o /dev/null ;;
	rclone) command -v rclone >/dev/null || continue
		add "$e" env -u AWS_CA_BUNDLE rclone --config "$tmp/rclone.conf" copyto "$tmp/one" lo:bench/r \
			--s3-no-check-bucket --retries 1 ;;
	aws-cli) [ -x /usr/bin/aws ] || continue
		add "$e" env AWS_CONFIG_FILE="$tmp/aws.conf" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
			AWS_ACCESS_KEY_ID=ak AWS_SECRET_ACCESS_KEY=sk AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
			/usr/bin/aws --endpoint-url "$url" s3 cp --only-show-errors "$tmp/one" s3://bench/a ;;
	*) echo "startup-speed: unknown engine $e" >&2; exit 2 ;;
	esac
done

echo "startup-speed: a 1-byte file, $runs runs x $((rounds - 1)) rounds (first of $rounds discarded), ossemu --discard, $(nproc) cores"
/usr/bin/python3 - "$tmp/engines" "$runs" "$rounds" <<'PY'
import resource, statistics, subprocess, sys, time

path, runs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engines = []
for line in open(path):
    name, argv = line.rstrip("\n").split("\t", 1)
    engines.append((name, argv.rstrip("\037").split("\037")))
res = {n: [] for n, _ in engines}
for r in range(rounds):
    for name, argv in engines:
        u0, w0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        for _ in range(runs):
            p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if p.returncode != 0:
                sys.exit("startup-speed: %s failed (exit %d): %s" % (name, p.returncode,
                         p.stderr.decode(errors="replace").strip()[-300:]))
        u1, w1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
        if r == 0:
            continue  # caches, the page cache of every library
        cpu = (u1.ru_utime - u0.ru_utime + u1.ru_stime - u0.ru_stime) / runs * 1e3
        res[name].append((cpu, (w1 - w0) / runs * 1e3, (u1.ru_minflt - u0.ru_minflt) / runs))
med = {n: tuple(statistics.median(x[i] for x in v) for i in range(3)) for n, v in res.items()}
print("| engine | CPU ms per run | wall ms | page faults | CPU beyond curl's (same request), ms |")
print("|---|---:|---:|---:|---:|")
for name, _ in engines:
    cpu, wall, flt = med[name]
    ref = {"hoist": "curl-signed", "hoist-tls": "curl-tls", "hoist-tls-bundle": "curl-tls"}.get(name)
    beyond = "%+.1f" % (cpu - med[ref][0]) if ref in med else ""
    print("| %s | %.1f | %.1f | %.0f | %s |" % (name, cpu, wall, flt, beyond))
if "loader" in med and "hoist" in med:
    print("hoist cp over HTTP beyond its own loader (hoist --version): %.1f ms of CPU"
          % (med["hoist"][0] - med["loader"][0]))
PY
