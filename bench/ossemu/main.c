/*
 * main.c - ossemu's entry point: flags, start-up, signals, the exit report.
 *
 * ossemu is a protocol-faithful local OSS/S3 server for hoist's tests and
 * benchmarks (bench/ossemu/README.md has every flag).  main() parses the
 * flags into an immutable struct ossemu_config, opens the store, starts the
 * HTTP daemon, prints "ossemu listening on http://HOST:PORT" as its first
 * stdout line, then waits in sigwait() for SIGTERM/SIGINT: it stops the
 * daemon, prints the /-/stats document as one stdout line, and exits 0.
 *
 * Threading: the main thread blocks SIGINT/SIGTERM before any thread starts
 * (so every thread inherits the mask and only sigwait sees them) and then
 * only waits.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "checksum.h"
#include "http.h"
#include "imds.h"
#include "keys.h"
#include "ossemu.h"
#include "persist.h"
#include "resume.h"
#include "stats.h"
#include "store.h"

#define OSSEMU_VERSION "0.1.0"
/* MHD's per-connection memory: the read buffer upload chunks come from.
 * Too small and every chunk is a few KiB (many handler calls, many write
 * syscalls); too large and 4096 idle connections reserve a lot of address
 * space (it is mmap'd lazily, so resident memory grows only with use). */
#define DEFAULT_CONN_MEMORY (512u * 1024)
/* Lifetime of the metadata service's STS keys without a TTL.  ECS hands
 * out hours; an hour is long for a test, short enough to see rotation in
 * a long benchmark. */
#define DEFAULT_IMDS_TTL 3600

static const char *const op_names[OP_COUNT] = {
#define OSSEMU_OP_NAME(id, name) [id] = name,
	OSSEMU_OPS(OSSEMU_OP_NAME)
#undef OSSEMU_OP_NAME
};

const char *op_name(enum op op)
{
	return (unsigned)op < OP_COUNT ? op_names[op] : "unknown";
}

int op_from_name(const char *name)
{
	for (int i = 0; i < OP_COUNT; i++) {
		if (strcmp(op_names[i], name) == 0)
			return i;
	}
	return -1;
}

int64_t ossemu_now(const struct ossemu *s)
{
	return (int64_t)time(NULL) + s->cfg->clock_offset;
}

static void usage(FILE *f)
{
	fputs("usage: ossemu [--host 127.0.0.1] [--port N|0] [--bucket NAME]...\n"
	      "              [--key AK:SK[:STS_TOKEN[:EXPIRES_UNIX]]]... [--anonymous]\n"
	      "              [--imds ROLE[:TTL_SECONDS]] [--imds-mode both|v2|v1]\n"
	      "              [--data-dir DIR | --discard] [--md5-etags]\n"
	      "              [--tls-cert FILE --tls-key FILE] [--threads N] [--conn-memory KIB]\n"
	      "              [--clock-offset SECONDS] [--verbose]\n"
	      "  faults:     [--seed N] [--fail RATE] [--reset RATE] [--stall RATE:SECONDS]\n"
	      "              [--latency MS] [--conn-bandwidth MBPS] [--bad-crc RATE] [--corrupt-get RATE]\n"
	      "              [--no-crc | --no-crc-anywhere] [--no-part-number]\n"
	      "              [--fault OP:KIND=VALUE[,KIND=VALUE]]...\n"
	      "See bench/ossemu/README.md.\n", f);
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}

/* AK:SK[:TOKEN[:EXPIRES_UNIX]]: a last field of digits after the token is
 * its expiry (so a token may still contain ':' as long as it does not end
 * in ":digits"). */
static int add_key(struct ossemu_config *cfg, const char *spec)
{
	const char *c1 = strchr(spec, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *c3 = c2 ? strrchr(c2 + 1, ':') : NULL;
	struct ossemu_key *keys, *k;
	uint64_t exp = 0;

	if (!c1 || c1 == spec || !c1[1] || (c2 && (c2 == c1 + 1 || !c2[1])))
		return -1;
	if (c3 && parse_u64(c3 + 1, &exp) == 0 && c3 > c2 + 1) {
		if (exp == 0 || exp > INT64_MAX)
			return -1;
	} else {
		c3 = NULL;
		exp = 0;
	}
	keys = realloc(cfg->keys, (cfg->nkeys + 1) * sizeof(*keys));
	if (!keys)
		return -1;
	cfg->keys = keys;
	k = &keys[cfg->nkeys];
	memset(k, 0, sizeof(*k));
	k->ak = strndup(spec, (size_t)(c1 - spec));
	k->sk = c2 ? strndup(c1 + 1, (size_t)(c2 - c1 - 1)) : strdup(c1 + 1);
	k->token = c3 ? strndup(c2 + 1, (size_t)(c3 - c2 - 1)) : c2 ? strdup(c2 + 1) : NULL;
	k->expires = (int64_t)exp;
	if (!k->ak || !k->sk || (c2 && !k->token)) {
		free(k->ak);
		free(k->sk);
		free(k->token);
		return -1;
	}
	cfg->nkeys++;
	return 0;
}

/* ROLE[:TTL_SECONDS] */
static int set_imds(struct ossemu_config *cfg, char *spec)
{
	char *colon = strchr(spec, ':');
	double v = DEFAULT_IMDS_TTL;

	if (colon && (parse_num(colon + 1, 1, 12 * 3600, &v) < 0 || v != (unsigned)v))
		return -1;
	if (colon)
		*colon = '\0'; /* argv is ours to cut */
	if (!*spec || strchr(spec, '/')) {
		if (colon)
			*colon = ':';
		return -1;
	}
	cfg->imds_role = spec;
	cfg->imds_ttl = (unsigned)v;
	return 0;
}

static int add_bucket(struct ossemu_config *cfg, const char *name)
{
	char **v = realloc(cfg->buckets, (cfg->nbuckets + 1) * sizeof(*v));

	if (!v)
		return -1;
	cfg->buckets = v;
	v[cfg->nbuckets] = strdup(name);
	if (!v[cfg->nbuckets])
		return -1;
	cfg->nbuckets++;
	return 0;
}

static void config_cleanup(struct ossemu_config *cfg)
{
	for (size_t i = 0; i < cfg->nkeys; i++) {
		free(cfg->keys[i].ak);
		free(cfg->keys[i].sk);
		free(cfg->keys[i].token);
	}
	free(cfg->keys);
	for (size_t i = 0; i < cfg->nbuckets; i++)
		free(cfg->buckets[i]);
	free(cfg->buckets);
	free(cfg->rules);
	free(cfg->data_dir);
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_BUCKET, OPT_KEY, OPT_ANON, OPT_DATA_DIR, OPT_DISCARD,
	OPT_MD5_ETAGS, OPT_TLS_CERT, OPT_TLS_KEY, OPT_THREADS, OPT_CONN_MEMORY,
	OPT_CLOCK_OFFSET, OPT_SEED, OPT_FAIL, OPT_RESET, OPT_STALL, OPT_LATENCY,
	OPT_BANDWIDTH, OPT_BAD_CRC, OPT_CORRUPT_GET, OPT_NO_CRC, OPT_NO_CRC_ALL, OPT_NO_PART_NUMBER, OPT_FAULT, OPT_VERSION,
	OPT_IMDS, OPT_IMDS_MODE
};

static const struct option long_opts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "bucket", required_argument, NULL, OPT_BUCKET },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "anonymous", no_argument, NULL, OPT_ANON },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "discard", no_argument, NULL, OPT_DISCARD },
	{ "md5-etags", no_argument, NULL, OPT_MD5_ETAGS },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "conn-memory", required_argument, NULL, OPT_CONN_MEMORY },
	{ "clock-offset", required_argument, NULL, OPT_CLOCK_OFFSET },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "fail", required_argument, NULL, OPT_FAIL },
	{ "reset", required_argument, NULL, OPT_RESET },
	{ "stall", required_argument, NULL, OPT_STALL },
	{ "latency", required_argument, NULL, OPT_LATENCY },
	{ "conn-bandwidth", required_argument, NULL, OPT_BANDWIDTH },
	{ "bad-crc", required_argument, NULL, OPT_BAD_CRC },
	{ "corrupt-get", required_argument, NULL, OPT_CORRUPT_GET },
	{ "no-crc", no_argument, NULL, OPT_NO_CRC },
	{ "no-crc-anywhere", no_argument, NULL, OPT_NO_CRC_ALL },
	{ "no-part-number", no_argument, NULL, OPT_NO_PART_NUMBER },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "imds", required_argument, NULL, OPT_IMDS },
	{ "imds-mode", required_argument, NULL, OPT_IMDS_MODE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int val)
{
	for (const struct option *o = long_opts; o->name; o++) {
		if (o->val == val)
			return o->name;
	}
	return "?";
}

/* Returns 0, 1 (exit 0 now: --help/--version) or -1 (usage error). */
static int parse_args(struct ossemu_config *cfg, int argc, char **argv)
{
	char err[256];
	double v;
	int c;

	for (c = getopt_long(argc, argv, "vh", long_opts, NULL); c != -1;
	     c = getopt_long(argc, argv, "vh", long_opts, NULL)) {
		err[0] = '\0';
		switch (c) {
		case OPT_HOST:
			cfg->host = optarg;
			break;
		case OPT_PORT:
			if (parse_num(optarg, 0, 65535, &v) < 0 || v != (unsigned)v)
				goto bad;
			cfg->port = (unsigned)v;
			break;
		case OPT_BUCKET:
			if (add_bucket(cfg, optarg) < 0)
				goto bad;
			break;
		case OPT_KEY:
			if (add_key(cfg, optarg) < 0)
				goto bad;
			break;
		case OPT_ANON:
			cfg->anonymous = 1;
			break;
		case OPT_DATA_DIR:
			free(cfg->data_dir);
			cfg->data_dir = strdup(optarg);
			if (!cfg->data_dir)
				goto bad;
			break;
		case OPT_DISCARD:
			cfg->discard = 1;
			break;
		case OPT_MD5_ETAGS:
			cfg->md5_etags = 1;
			break;
		case OPT_TLS_CERT:
			cfg->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			cfg->tls_key = optarg;
			break;
		case OPT_THREADS:
			if (parse_num(optarg, 1, 1024, &v) < 0)
				goto bad;
			cfg->threads = (unsigned)v;
			break;
		case OPT_CONN_MEMORY:
			if (parse_num(optarg, 16, 65536, &v) < 0)
				goto bad;
			cfg->conn_memory = (size_t)v * 1024;
			break;
		case OPT_CLOCK_OFFSET:
			if (parse_num(optarg, -1e10, 1e10, &v) < 0)
				goto bad;
			cfg->clock_offset = (int64_t)v;
			break;
		case OPT_SEED:
			if (parse_num(optarg, 0, 1.8e19, &v) < 0)
				goto bad;
			cfg->seed = (uint64_t)v;
			break;
		case OPT_FAIL:
			if (fault_rule_add(cfg, -1, FAULT_FAIL, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_RESET:
			if (fault_rule_add(cfg, -1, FAULT_RESET, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_STALL:
			if (fault_rule_add(cfg, -1, FAULT_STALL, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_BAD_CRC:
			if (fault_rule_add(cfg, -1, FAULT_BAD_CRC, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_CORRUPT_GET:
			if (fault_rule_add(cfg, OP_GET_OBJECT, FAULT_CORRUPT, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_FAULT:
			if (fault_spec_add(cfg, optarg, err, sizeof(err)) < 0)
				goto bad;
			break;
		case OPT_IMDS:
			if (set_imds(cfg, optarg) < 0)
				goto bad;
			break;
		case OPT_IMDS_MODE:
			if (strcmp(optarg, "both") == 0)
				cfg->imds_mode = IMDS_BOTH;
			else if (strcmp(optarg, "v2") == 0)
				cfg->imds_mode = IMDS_V2;
			else if (strcmp(optarg, "v1") == 0)
				cfg->imds_mode = IMDS_V1;
			else
				goto bad;
			break;
		case OPT_LATENCY:
			if (parse_num(optarg, 0, 600000, &v) < 0)
				goto bad;
			cfg->latency_ms = v;
			break;
		case OPT_BANDWIDTH:
			if (parse_num(optarg, 0, 1e6, &v) < 0)
				goto bad;
			cfg->conn_bandwidth = v * 1e6; /* MB/s -> bytes/s */
			break;
		case OPT_NO_CRC:
			cfg->no_crc = 1;
			break;
		case OPT_NO_CRC_ALL:
			cfg->no_crc = 2;
			break;
		case OPT_NO_PART_NUMBER:
			cfg->no_part_number = 1;
			break;
		case 'v':
			cfg->verbose = 1;
			break;
		case OPT_VERSION:
			printf("ossemu %s\n", OSSEMU_VERSION);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
		continue;
bad:
		fprintf(stderr, "ossemu: bad value for --%s: '%s'%s%s\n", opt_name(c),
			optarg ? optarg : "", err[0] ? ": " : "", err);
		return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "ossemu: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (cfg->discard && cfg->data_dir) {
		fprintf(stderr, "ossemu: --data-dir and --discard exclude each other\n");
		return -1;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, "ossemu: --tls-cert and --tls-key go together\n");
		return -1;
	}
	return 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* 4096 connections plus temp files need more than the usual 1024. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int make_temp_dir(struct ossemu_config *cfg)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	path = malloc(strlen(base) + 32);
	if (!path)
		return -1;
	snprintf(path, strlen(base) + 32, "%s/ossemu-XXXXXX", base);
	if (!mkdtemp(path)) {
		free(path);
		return -1;
	}
	cfg->data_dir = path;
	cfg->data_dir_is_temp = 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct ossemu_config cfg;
	struct ossemu srv;
	sigset_t set;
	char err[512];
	int sig = 0, code = 1, r;
	long cores;

	memset(&cfg, 0, sizeof(cfg));
	memset(&srv, 0, sizeof(srv));
	cfg.host = "127.0.0.1";
	cfg.conn_memory = DEFAULT_CONN_MEMORY;
	r = parse_args(&cfg, argc, argv);
	if (r != 0) {
		config_cleanup(&cfg);
		return r > 0 ? 0 : 2;
	}
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (!cfg.threads)
		cfg.threads = cores > 0 ? (unsigned)cores : 2;
	if (!cfg.discard && !cfg.data_dir && make_temp_dir(&cfg) < 0) {
		fprintf(stderr, "ossemu: cannot create a temporary data directory: %s\n",
			strerror(errno));
		config_cleanup(&cfg);
		return 1;
	}
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	srv.cfg = &cfg;
	srv.store = store_open(&cfg, err, sizeof(err));
	if (!srv.store) {
		fprintf(stderr, "ossemu: %s\n", err);
		goto out;
	}
	srv.stats = stats_new();
	srv.faults = faults_new(&cfg);
	srv.resumer = resumer_new();
	srv.keys = keyring_new(&cfg);
	srv.imds = cfg.imds_role && srv.keys ? imds_new(&cfg, srv.keys) : NULL;
	if (!srv.stats || !srv.faults || !srv.resumer || !srv.keys || (cfg.imds_role && !srv.imds)) {
		fprintf(stderr, "ossemu: out of memory\n");
		goto out;
	}
	if (http_start(&srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "ossemu: %s\n", err);
		goto out;
	}
	printf("ossemu listening on %s://%s%s%s:%u\n", cfg.tls_cert ? "https" : "http",
	       strchr(cfg.host, ':') ? "[" : "", cfg.host, strchr(cfg.host, ':') ? "]" : "",
	       srv.port);
	fflush(stdout);
	if (cfg.verbose)
		fprintf(stderr, "ossemu: %u threads, %s, %zu buckets, %zu keys%s%s\n", cfg.threads,
			cfg.discard ? "--discard" : cfg.data_dir, cfg.nbuckets, cfg.nkeys,
			cfg.imds_role ? ", metadata service for role " : "",
			cfg.imds_role ? cfg.imds_role : "");
	while (sigwait(&set, &sig) != 0)
		;
	http_stop(&srv);
	{
		char *json = http_stats_json(&srv);

		if (json)
			printf("%s\n", json);
		fflush(stdout);
		free(json);
	}
	code = 0;
out:
	http_stop(&srv);
	resumer_free(srv.resumer);
	imds_free(srv.imds);
	keyring_free(srv.keys);
	faults_free(srv.faults);
	stats_free(srv.stats);
	store_close(srv.store);
	curl_global_cleanup();
	if (cfg.data_dir_is_temp && cfg.data_dir)
		rm_rf(cfg.data_dir);
	config_cleanup(&cfg);
	return code;
}
