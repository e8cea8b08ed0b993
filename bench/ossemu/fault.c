/*
 * fault.c - fault rules and their deterministic per-request decisions.
 *
 * Owns: the parsed rules (in the config, immutable once running) and the
 * attempt table (request identity -> times seen).  See fault.h for the
 * decision function and why it is keyed by request identity rather than by
 * arrival order.
 *
 * Threading: `mu` guards the attempt table; rules are read-only.
 */
#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "map.h"

/* Past this many distinct requests the attempt table is cleared: a long
 * benchmark with faults would otherwise grow it without bound, and losing
 * counts only changes which attempts fail, not the rate. */
#define ATTEMPTS_MAX (1u << 20)

struct faults {
	/* immutable after faults_new */
	uint64_t seed;
	const struct fault_rule *eff[OP_COUNT][FAULT_COUNT]; /* NULL = none */
	int any;

	/* synced: guarded by mu */
	pthread_mutex_t mu;
	struct map attempts; /* identity -> (void *)(uintptr_t)count */
};

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

int fault_rule_add(struct ossemu_config *cfg, int op, enum fault_kind kind,
		   const char *value, char *err, size_t errlen)
{
	struct fault_rule rule = { op, kind, 0.0, 0.0 };
	struct fault_rule *rules;

	if (kind == FAULT_STALL) {
		/* RATE:SECONDS */
		const char *colon = strchr(value, ':');
		char rate[64];
		char *end;
		size_t n;

		n = colon ? (size_t)(colon - value) : sizeof(rate);
		if (n >= sizeof(rate))
			goto bad;
		memcpy(rate, value, n);
		rate[n] = '\0';
		if (parse_rate(rate, &rule.rate) < 0)
			goto bad;
		errno = 0;
		rule.seconds = strtod(colon + 1, &end);
		if (errno || end == colon + 1 || *end || !(rule.seconds >= 0.0 && rule.seconds < 86400.0))
			goto bad;
	} else if (parse_rate(value, &rule.rate) < 0) {
		goto bad;
	}
	rules = realloc(cfg->rules, (cfg->nrules + 1) * sizeof(*rules));
	if (!rules) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	cfg->rules = rules;
	cfg->rules[cfg->nrules++] = rule;
	return 0;
bad:
	snprintf(err, errlen, "bad %s value '%s' (want %s)", fault_kind_name(kind), value,
		 kind == FAULT_STALL ? "RATE:SECONDS, RATE in 0..1" : "a rate in 0..1");
	return -1;
}

static int kind_from_name(const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum fault_kind kind;
	} names[] = {
		{ "fail", FAULT_FAIL },   { "reset", FAULT_RESET },      { "stall", FAULT_STALL },
		{ "bad-crc", FAULT_BAD_CRC }, { "bad_crc", FAULT_BAD_CRC },
		{ "corrupt", FAULT_CORRUPT }, { "corrupt-get", FAULT_CORRUPT },
		{ "corrupt_get", FAULT_CORRUPT },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == n && memcmp(names[i].name, s, n) == 0)
			return (int)names[i].kind;
	}
	return -1;
}

int fault_spec_add(struct ossemu_config *cfg, const char *spec, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	char opname[32];
	const char *p;
	int op;
	size_t n;

	n = colon ? (size_t)(colon - spec) : 0;
	if (n == 0 || n >= sizeof(opname)) {
		snprintf(err, errlen, "bad --fault '%s' (want OP:KIND=VALUE[,KIND=VALUE])", spec);
		return -1;
	}
	memcpy(opname, spec, n);
	opname[n] = '\0';
	if (strcmp(opname, "all") == 0 || strcmp(opname, "*") == 0) {
		op = -1;
	} else {
		op = op_from_name(opname);
		if (op < 0 || op == OP_STATS) {
			snprintf(err, errlen, "--fault: unknown operation '%s'", opname);
			return -1;
		}
	}
	p = colon + 1;
	while (*p) {
		const char *eq = strchr(p, '=');
		const char *comma;
		char value[64];
		int kind;

		if (!eq) {
			snprintf(err, errlen, "bad --fault '%s': missing '='", spec);
			return -1;
		}
		kind = kind_from_name(p, (size_t)(eq - p));
		if (kind < 0) {
			snprintf(err, errlen, "bad --fault '%s': unknown kind (fail, reset, stall, bad-crc, corrupt)",
				 spec);
			return -1;
		}
		comma = strchr(eq + 1, ',');
		n = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
		if (n >= sizeof(value)) {
			snprintf(err, errlen, "bad --fault '%s': value too long", spec);
			return -1;
		}
		memcpy(value, eq + 1, n);
		value[n] = '\0';
		if (fault_rule_add(cfg, op, (enum fault_kind)kind, value, err, errlen) < 0)
			return -1;
		p = comma ? comma + 1 : eq + 1 + n;
	}
	return 0;
}

struct faults *faults_new(const struct ossemu_config *cfg)
{
	struct faults *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->seed = cfg->seed;
	pthread_mutex_init(&f->mu, NULL);
	/* Global rules first, scoped ones after, so a scoped rule wins. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg->nrules; i++) {
			const struct fault_rule *r = &cfg->rules[i];

			if ((pass == 0) != (r->op < 0))
				continue;
			for (int op = 0; op < OP_COUNT; op++) {
				/* The metadata service is another service: only a
				 * rule naming it (--fault imds:...) applies. */
				if (op == OP_STATS || (r->op >= 0 && r->op != op) ||
				    (r->op < 0 && op == OP_IMDS))
					continue;
				f->eff[op][r->kind] = r;
			}
			if (r->rate > 0.0)
				f->any = 1;
		}
	}
	return f;
}

void faults_free(struct faults *f)
{
	if (!f)
		return;
	map_cleanup(&f->attempts, NULL);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Uniform in [0, 1) from the request identity, its attempt and the kind. */
static double draw(const struct faults *f, const struct buf *id, uint64_t attempt, unsigned salt)
{
	uint64_t h = map_hash(id->data, id->len, f->seed ^ (attempt * 0x9e3779b97f4a7c15ULL) ^
				  ((uint64_t)salt << 56));

	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t next_attempt(struct faults *f, const char *id)
{
	uintptr_t n;

	pthread_mutex_lock(&f->mu);
	if (f->attempts.n >= ATTEMPTS_MAX)
		map_cleanup(&f->attempts, NULL);
	n = (uintptr_t)map_get(&f->attempts, id);
	/* ENOMEM only loses the count: the decision stays deterministic enough. */
	(void)map_put(&f->attempts, id, (void *)(n + 1), NULL);
	pthread_mutex_unlock(&f->mu);
	return n;
}

void faults_decide(struct faults *f, struct fault_plan *out, enum op op, const char *bucket,
		   const char *key, const char *upload_id, unsigned part)
{
	struct buf id = BUF_INIT;
	uint64_t attempt;
	const struct fault_rule *r;

	memset(out, 0, sizeof(*out));
	if (!f->any || (unsigned)op >= OP_COUNT || op == OP_STATS)
		return;
	/* The upload id is left out on purpose: ids are random, and keeping them
	 * out makes a run with the same --seed fail the same parts. */
	(void)upload_id;
	if (buf_printf(&id, "%s|%s|%s|%u", op_name(op), bucket ? bucket : "", key ? key : "",
		       part) < 0)
		return;
	attempt = next_attempt(f, id.data);
	r = f->eff[op][FAULT_FAIL];
	if (r && draw(f, &id, attempt, FAULT_FAIL) < r->rate)
		out->fail = draw(f, &id, attempt, 100) < 0.5 ? 500 : 503;
	r = f->eff[op][FAULT_RESET];
	if (!out->fail && r && draw(f, &id, attempt, FAULT_RESET) < r->rate)
		out->reset = 1;
	r = f->eff[op][FAULT_STALL];
	if (r && r->seconds > 0.0 && draw(f, &id, attempt, FAULT_STALL) < r->rate)
		out->stall_s = r->seconds;
	r = f->eff[op][FAULT_BAD_CRC];
	if (r && draw(f, &id, attempt, FAULT_BAD_CRC) < r->rate)
		out->bad_crc = 1;
	r = f->eff[op][FAULT_CORRUPT];
	if (r && draw(f, &id, attempt, FAULT_CORRUPT) < r->rate) {
		out->corrupt = 1;
		out->corrupt_frac = draw(f, &id, attempt, 101);
	}
	buf_free(&id);
}
