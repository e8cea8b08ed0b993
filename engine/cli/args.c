/*
 * args.c - turning command-line text into hoist.h options.
 *
 * Owns: parsing of sizes ("8MiB"), counts and durations; oss:// and s3://
 * URLs; the options every network command shares (endpoint, region,
 * signature, TLS, retries, threads, output mode) and their translation into
 * struct hoist_engine_options, credentials included.  Every bad value is
 * reported as exactly one usage line on stderr, and the caller exits 2.
 * Threading: main thread only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"

void cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("hoist: ", stderr);
	if (cmd) {
		fprintf(stderr, "%s: ", cmd);
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd) {
		fprintf(stderr, " (see 'hoist %s --help')\n", cmd);
	} else {
		fputs(" (see 'hoist --help')\n", stderr);
	}
}

void cli_getopt_error(const char *cmd, int ret, int optopt_, char *const argv[],
		      int optind_)
{
	const char *arg = optind_ > 0 ? argv[optind_ - 1] : "?";

	if (ret == ':') {
		cli_usage_error(cmd, "option '%s' needs a value", arg);
	} else if (optopt_ > 0 && optopt_ < 256) {
		cli_usage_error(cmd, "unknown option '-%c'", optopt_);
	} else {
		cli_usage_error(cmd, "unknown option '%s'", arg);
	}
}

/* ------------------------------------------------------------ numbers */

int cli_parse_uint(unsigned long *out, const char *text, unsigned long min,
		   unsigned long max)
{
	char *end = NULL;
	unsigned long v;

	if (!text || *text < '0' || *text > '9') {
		return -1;
	}
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

int cli_parse_size(uint64_t *out, const char *text)
{
	/* Binary multiples whatever the spelling: part sizes are always
	 * thought of in MiB, and "8M" meaning 8,000,000 would surprise. */
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{ "", 0 }, { "B", 0 },
		{ "K", 10 }, { "KiB", 10 }, { "KB", 10 },
		{ "M", 20 }, { "MiB", 20 }, { "MB", 20 },
		{ "G", 30 }, { "GiB", 30 }, { "GB", 30 },
		{ "T", 40 }, { "TiB", 40 }, { "TB", 40 },
	};
	char *end = NULL;
	unsigned long long v;
	size_t i;

	if (!text || *text < '0' || *text > '9') {
		return -1;
	}
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno) {
		return -1;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0) {
			continue;
		}
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift)) {
			return -1;
		}
		*out = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -1;
}

int cli_parse_seconds_ms(unsigned *out, const char *text, unsigned max_ms)
{
	char *end = NULL;
	double v;

	if (!text || ((*text < '0' || *text > '9') && *text != '.')) {
		return -1;
	}
	errno = 0;
	v = strtod(text, &end);
	if (errno || *end || v != v) {
		return -1;
	}
	v *= 1000.0;
	if (v < 1.0 || v > (double)max_ms) {
		return -1;
	}
	*out = (unsigned)(v + 0.5);
	return 0;
}

/* --------------------------------------------------------------- URLs */

static int bucket_valid(const char *b, enum hoist_dialect d)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		char c = b[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (alnum) {
			continue;
		}
		if ((c == '-' || (c == '.' && d == HOIST_DIALECT_S3)) && i > 0 &&
		    i < n - 1) {
			continue;
		}
		return 0;
	}
	return 1;
}

int cli_url_parse(struct cli_url *url, const char *text)
{
	const char *rest;
	char *slash;

	memset(url, 0, sizeof(*url));
	if (strncmp(text, "oss://", 6) == 0) {
		url->dialect = HOIST_DIALECT_OSS;
		rest = text + 6;
	} else if (strncmp(text, "s3://", 5) == 0) {
		url->dialect = HOIST_DIALECT_S3;
		rest = text + 5;
	} else {
		cli_usage_error(NULL, "'%s' is not an oss://BUCKET/KEY or s3://BUCKET/KEY URL",
				text);
		return -1;
	}
	url->mem_ = strdup(rest);
	if (!url->mem_) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	url->bucket = url->mem_;
	slash = strchr(url->mem_, '/');
	if (slash) {
		*slash = '\0';
		url->key = slash + 1;
	} else {
		url->key = url->mem_ + strlen(url->mem_);
	}
	if (!bucket_valid(url->bucket, url->dialect)) {
		cli_usage_error(NULL, "'%s': bucket names are 3 to 63 lowercase letters, digits and hyphens%s",
				text, url->dialect == HOIST_DIALECT_S3 ? " (or dots)" : "");
		goto fail;
	}
	/* OSS refuses these keys; saying so here costs nothing and names the
	 * problem better than the server's InvalidObjectName. */
	if (url->key[0] == '/' || url->key[0] == '\\') {
		cli_usage_error(NULL, "'%s': an object key cannot start with '%c'",
				text, url->key[0]);
		goto fail;
	}
	if (strlen(url->key) > 1023) {
		cli_usage_error(NULL, "object key longer than 1023 bytes");
		goto fail;
	}
	return 0;
fail:
	cli_url_cleanup(url);
	return -1;
}

void cli_url_cleanup(struct cli_url *url)
{
	free(url->mem_);
	memset(url, 0, sizeof(*url));
}

/* ----------------------------------------------------- shared options */

const struct option cli_common_options[] = {
	{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
	{ "region", required_argument, NULL, OPT_REGION },
	{ "internal", no_argument, NULL, OPT_INTERNAL },
	{ "signature", required_argument, NULL, OPT_SIGNATURE },
	{ "path-style", no_argument, NULL, OPT_PATH_STYLE },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "io-threads", required_argument, NULL, OPT_IO_THREADS },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ NULL, 0, NULL, 0 }
};

struct option *cli_options_merge(const struct option *extra)
{
	size_t nc = 0, ne = 0;
	struct option *t;

	while (cli_common_options[nc].name) {
		nc++;
	}
	while (extra && extra[ne].name) {
		ne++;
	}
	t = calloc(nc + ne + 1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	memcpy(t, cli_common_options, nc * sizeof(*t));
	if (ne) {
		memcpy(t + nc, extra, ne * sizeof(*t));
	}
	return t;
}

static int region_valid(const char *r)
{
	size_t i;

	if (!*r || strlen(r) > 64) {
		return 0;
	}
	for (i = 0; r[i]; i++) {
		char c = r[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			return 0;
		}
	}
	return 1;
}

int cli_common_apply(struct cli_common *c, const char *cmd, int id,
		     const char *arg)
{
	unsigned long v;

	switch (id) {
	case OPT_ENDPOINT:
		/* "--endpoint --json" (an empty shell variable) would make
		 * "--json" the endpoint and fail later, slowly, in DNS. */
		if (!*arg || *arg == '-') {
			cli_usage_error(cmd, "--endpoint '%s': expected a URL like https://oss-cn-hangzhou.aliyuncs.com",
					arg);
			return -1;
		}
		c->endpoint = arg;
		return 1;
	case OPT_REGION:
		if (!region_valid(arg)) {
			cli_usage_error(cmd, "--region '%s': expected an id like cn-hangzhou", arg);
			return -1;
		}
		c->region = arg;
		return 1;
	case OPT_INTERNAL:
		c->internal = 1;
		return 1;
	case OPT_SIGNATURE:
		if (strcasecmp(arg, "v1") == 0 || strcmp(arg, "1") == 0) {
			c->signature = HOIST_SIGNATURE_V1;
		} else if (strcasecmp(arg, "v4") == 0 || strcmp(arg, "4") == 0) {
			c->signature = HOIST_SIGNATURE_V4;
		} else {
			cli_usage_error(cmd, "--signature '%s': expected v1 or v4", arg);
			return -1;
		}
		return 1;
	case OPT_PATH_STYLE:
		c->addressing = HOIST_ADDRESSING_PATH;
		return 1;
	case OPT_CACERT:
		c->ca_file = arg;
		return 1;
	case OPT_INSECURE:
		c->insecure = 1;
		return 1;
	case OPT_CONNECT_TIMEOUT:
		if (cli_parse_seconds_ms(&c->connect_timeout_ms, arg, 3600u * 1000u)) {
			cli_usage_error(cmd, "--connect-timeout '%s': expected seconds, e.g. 10 or 2.5", arg);
			return -1;
		}
		return 1;
	case OPT_RETRIES:
		/* The header counts attempts, people count retries. */
		if (cli_parse_uint(&v, arg, 0, 100)) {
			cli_usage_error(cmd, "--retries '%s': expected 0 to 100", arg);
			return -1;
		}
		c->max_attempts = (unsigned)v + 1;
		return 1;
	case OPT_THREADS:
		if (cli_parse_uint(&v, arg, 1, 1024)) {
			cli_usage_error(cmd, "--threads '%s': expected 1 to 1024", arg);
			return -1;
		}
		c->hash_threads = (unsigned)v;
		return 1;
	case OPT_IO_THREADS:
		if (cli_parse_uint(&v, arg, 1, 64)) {
			cli_usage_error(cmd, "--io-threads '%s': expected 1 to 64", arg);
			return -1;
		}
		c->io_threads = (unsigned)v;
		return 1;
	case OPT_MAX_CONNECTIONS:
		if (cli_parse_uint(&v, arg, 1, 65536)) {
			cli_usage_error(cmd, "--max-connections '%s': expected 1 to 65536", arg);
			return -1;
		}
		c->max_connections = (unsigned)v;
		return 1;
	case OPT_VERBOSE:
		c->verbose = 1;
		return 1;
	case OPT_QUIET:
		c->quiet = 1;
		return 1;
	case OPT_JSON:
		c->json = 1;
		return 1;
	case OPT_PROFILE:
		if (!*arg || *arg == '-' || strpbrk(arg, "[]\n")) {
			cli_usage_error(cmd, "--profile '%s': expected a profile name", arg);
			return -1;
		}
		c->profile = arg;
		return 1;
	default:
		return 0;
	}
}

/* The region an endpoint names, for V4 signing when --region is absent:
 * oss-REGION[-internal].aliyuncs.com, REGION.oss.aliyuncs.com,
 * s3.REGION.amazonaws.com.  Writes into buf; returns buf or NULL. */
static const char *region_from_endpoint(char *buf, size_t len, const char *ep)
{
	const char *host = strstr(ep, "://");
	const char *end, *dot;
	size_t n;

	host = host ? host + 3 : ep;
	end = host + strcspn(host, ":/");
	n = (size_t)(end - host);
	if (n > 13 && strncmp(host, "oss-", 4) == 0 &&
	    strncmp(end - 13, ".aliyuncs.com", 13) == 0) {
		dot = memchr(host, '.', n);
		n = (size_t)(dot - host) - 4;
		if (n > 9 && strncmp(host + 4 + n - 9, "-internal", 9) == 0) {
			n -= 9;
		}
		host += 4;
	} else if (n > 17 && strncmp(end - 17, ".oss.aliyuncs.com", 17) == 0) {
		n -= 17;
	} else if (n > 17 && strncmp(host, "s3.", 3) == 0 &&
		   strncmp(end - 14, ".amazonaws.com", 14) == 0) {
		host += 3;
		n -= 17;
	} else {
		return NULL;
	}
	if (n == 0 || n >= len) {
		return NULL;
	}
	memcpy(buf, host, n);
	buf[n] = '\0';
	return region_valid(buf) ? buf : NULL;
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* hwloc dlopens every plugin it finds (GL, OpenCL, PCI, its libxml2 XML
 * reader) at each topology init, with about 20 libraries behind them
 * (libX11, libxml2, ICU): measured, 7 ms of the 24 ms CPU of a one-file
 * `hoist cp`.  The hash pool asks hwloc for cores only, which needs none of
 * them.  setenv is safe here: the process has one thread until the engine
 * starts.  A caller's own setting wins. */
static void quiet_hwloc_plugins(void)
{
	setenv("HWLOC_PLUGINS_BLACKLIST",
	       "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml,hwloc_cuda,hwloc_nvml,"
	       "hwloc_rsmi,hwloc_levelzero",
	       0);
}

int cli_engine_options(struct hoist_engine_options *eo, struct cli_common *c,
		       const struct cli_url *url, const char *cmd)
{
	static char inferred_region[80];

	quiet_hwloc_plugins();
	eo->dialect = url->dialect;
	if (c->endpoint) {
		if (!strstr(c->endpoint, "://")) {
			size_t n = strlen(c->endpoint) + sizeof("https://");

			free(c->endpoint_owned);
			c->endpoint_owned = malloc(n);
			if (!c->endpoint_owned) {
				fputs("hoist: out of memory\n", stderr);
				return -1;
			}
			snprintf(c->endpoint_owned, n, "https://%s", c->endpoint);
			eo->endpoint = c->endpoint_owned;
		} else if (strncasecmp(c->endpoint, "http://", 7) == 0 ||
			   strncasecmp(c->endpoint, "https://", 8) == 0) {
			eo->endpoint = c->endpoint;
		} else {
			cli_usage_error(cmd, "--endpoint '%s': only http:// and https:// are supported",
					c->endpoint);
			return -1;
		}
	}
	eo->region = c->region;
	if (!eo->region && eo->endpoint) {
		eo->region = region_from_endpoint(inferred_region,
						  sizeof(inferred_region), eo->endpoint);
	}
	if (!eo->region && url->dialect == HOIST_DIALECT_S3) {
		eo->region = env_nonempty("AWS_REGION");
		if (!eo->region) {
			eo->region = env_nonempty("AWS_DEFAULT_REGION");
		}
		if (!eo->region) {
			cli_aws_profile_load(&c->aws, 0, 1);
			eo->region = c->aws.region;
		}
	}
	eo->internal = c->internal;
	if (c->signature == HOIST_SIGNATURE_V1 && url->dialect == HOIST_DIALECT_S3) {
		cli_usage_error(cmd, "--signature v1 is OSS only; s3:// always signs with SigV4");
		return -1;
	}
	eo->signature = c->signature;
	eo->addressing = c->addressing;
	/* A CA file that cannot be read would otherwise surface as a TLS
	 * failure on the first request, after retries. */
	if (c->ca_file && access(c->ca_file, R_OK) != 0) {
		cli_usage_error(cmd, "--cacert '%s': %s", c->ca_file, strerror(errno));
		return -1;
	}
	eo->ca_file = c->ca_file;
	eo->insecure = c->insecure;
	eo->connect_timeout_ms = c->connect_timeout_ms;
	eo->max_attempts = c->max_attempts;
	eo->hash_threads = c->hash_threads;
	eo->io_threads = c->io_threads;
	eo->max_connections = c->max_connections;

	/* The credentials chain (creds.c); the engine borrows what it finds. */
	cli_creds_free(c->creds);
	c->creds = NULL;
	return cli_creds_resolve(&c->creds, eo, c, url, cmd);
}

void cli_common_cleanup(struct cli_common *c)
{
	free(c->endpoint_owned);
	c->endpoint_owned = NULL;
	cli_aws_profile_cleanup(&c->aws);
	cli_creds_free(c->creds);
	c->creds = NULL;
}
