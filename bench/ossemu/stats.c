/*
 * stats.c - the counters behind /-/stats and the exit report.
 *
 * Owns: a per-operation table of per-status counts (status 100..601, where
 * 600/601 stand for "reset" and "aborted"), byte and connection counters,
 * per-kind fault counts and expired-token refusals; and the /-/stats
 * document, built with jansson.  All relaxed atomics: see stats.h.
 *
 * Threading: any thread may count; any thread may render.
 */
#include "stats.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define NSTATUS 602

struct stats {
	_Atomic uint64_t req[OP_COUNT][NSTATUS];
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic int64_t conns;
	_Atomic uint64_t faults[FAULT_COUNT];
	_Atomic uint64_t token_expired;
};

static const char *const fault_names[FAULT_COUNT] = {
#define OSSEMU_FAULT_NAME(id, name) [id] = name,
	OSSEMU_FAULTS(OSSEMU_FAULT_NAME)
#undef OSSEMU_FAULT_NAME
};

const char *fault_kind_name(enum fault_kind k)
{
	return (unsigned)k < FAULT_COUNT ? fault_names[k] : "?";
}

struct stats *stats_new(void)
{
	return calloc(1, sizeof(struct stats));
}

void stats_free(struct stats *s)
{
	free(s);
}

void stats_request(struct stats *s, enum op op, unsigned status)
{
	if ((unsigned)op >= OP_COUNT)
		op = OP_UNKNOWN;
	if (status >= NSTATUS)
		status = 500;
	atomic_fetch_add_explicit(&s->req[op][status], 1, memory_order_relaxed);
}

void stats_bytes_in(struct stats *s, uint64_t n)
{
	atomic_fetch_add_explicit(&s->bytes_in, n, memory_order_relaxed);
}

void stats_bytes_out(struct stats *s, uint64_t n)
{
	atomic_fetch_add_explicit(&s->bytes_out, n, memory_order_relaxed);
}

void stats_connection(struct stats *s, int delta)
{
	atomic_fetch_add_explicit(&s->conns, delta, memory_order_relaxed);
}

void stats_fault(struct stats *s, enum fault_kind k)
{
	if ((unsigned)k < FAULT_COUNT)
		atomic_fetch_add_explicit(&s->faults[k], 1, memory_order_relaxed);
}

uint64_t stats_fault_count(struct stats *s, enum fault_kind k)
{
	if ((unsigned)k >= FAULT_COUNT)
		return 0;
	return atomic_load_explicit(&s->faults[k], memory_order_relaxed);
}

static uint64_t ld(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

void stats_token_expired(struct stats *s)
{
	atomic_fetch_add_explicit(&s->token_expired, 1, memory_order_relaxed);
}

/* Counters are below 2^63 for any run ossemu will see; jansson's integers
 * are signed 64-bit. */
static int set_u64(json_t *o, const char *name, uint64_t v)
{
	return json_object_set_new(o, name, json_integer((json_int_t)v));
}

/* {"<op>":{"<status>":n,...},...}, adding what it counts to *total. */
static json_t *requests_json(struct stats *s, uint64_t *total)
{
	json_t *all = json_object();
	int r = all ? 0 : -1;

	for (int op = 0; op < OP_COUNT && r == 0; op++) {
		json_t *by = NULL;

		for (unsigned st = 0; st < NSTATUS && r == 0; st++) {
			uint64_t n = ld(&s->req[op][st]);
			char name[16];

			if (!n)
				continue;
			if (!by) {
				by = json_object();
				r |= json_object_set_new(all, op_name(op), by);
				if (r)
					break;
			}
			if (st == STATS_STATUS_RESET)
				snprintf(name, sizeof(name), "reset");
			else if (st == STATS_STATUS_ABORTED)
				snprintf(name, sizeof(name), "aborted");
			else
				snprintf(name, sizeof(name), "%u", st);
			*total += n;
			r |= set_u64(by, name, n);
		}
	}
	if (r) {
		json_decref(all);
		return NULL;
	}
	return all;
}

char *stats_json(struct stats *s, const struct stats_extra *x)
{
	json_t *doc = json_object(), *faults = json_object(), *sts = json_object();
	json_t *reqs;
	uint64_t total = 0;
	char *out = NULL;
	int r = 0;

	reqs = requests_json(s, &total);
	if (!doc || !faults || !sts || !reqs)
		goto out;
	for (int k = 0; k < FAULT_COUNT; k++)
		r |= set_u64(faults, fault_names[k], ld(&s->faults[k]));
	r |= set_u64(sts, "tokens_used", x->tokens_used);
	r |= set_u64(sts, "expired_rejections", ld(&s->token_expired));
	r |= set_u64(sts, "imds_issued", x->imds_issued);
	r |= json_object_set(doc, "requests", reqs);
	r |= set_u64(doc, "requests_total", total);
	r |= set_u64(doc, "bytes_in", ld(&s->bytes_in));
	r |= set_u64(doc, "bytes_out", ld(&s->bytes_out));
	r |= json_object_set_new(doc, "active_connections",
				 json_integer(atomic_load_explicit(&s->conns, memory_order_relaxed)));
	r |= json_object_set(doc, "faults", faults);
	r |= json_object_set(doc, "sts", sts);
	r |= set_u64(doc, "objects", x->objects);
	r |= set_u64(doc, "uploads", x->uploads);
	if (r == 0)
		out = json_dumps(doc, JSON_COMPACT);
out:
	json_decref(reqs);
	json_decref(faults);
	json_decref(sts);
	json_decref(doc);
	return out;
}
