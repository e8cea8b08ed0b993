/*
 * stats.c - the counters behind /-/stats and the exit report.
 *
 * Owns: a per-operation table of per-status counts (status 100..601, where
 * 600/601 stand for "reset" and "aborted"), byte and connection counters and
 * per-kind fault counts.  All relaxed atomics: see stats.h.
 *
 * Threading: any thread may count; any thread may render.
 */
#include "stats.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "buf.h"

#define NSTATUS 602

struct stats {
	_Atomic uint64_t req[OP_COUNT][NSTATUS];
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic int64_t conns;
	_Atomic uint64_t faults[FAULT_COUNT];
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

char *stats_json(struct stats *s, uint64_t objects, uint64_t uploads)
{
	struct buf b = BUF_INIT;
	uint64_t total = 0;
	int r = 0;
	int first_op = 1;

	r |= buf_puts(&b, "{\"requests\":{");
	for (int op = 0; op < OP_COUNT; op++) {
		int first = 1;

		for (unsigned st = 0; st < NSTATUS; st++) {
			uint64_t n = ld(&s->req[op][st]);

			if (!n)
				continue;
			total += n;
			if (first) {
				r |= buf_printf(&b, "%s\"%s\":{", first_op ? "" : ",", op_name(op));
				first_op = 0;
			}
			if (st == STATS_STATUS_RESET)
				r |= buf_printf(&b, "%s\"reset\":%llu", first ? "" : ",",
						(unsigned long long)n);
			else if (st == STATS_STATUS_ABORTED)
				r |= buf_printf(&b, "%s\"aborted\":%llu", first ? "" : ",",
						(unsigned long long)n);
			else
				r |= buf_printf(&b, "%s\"%u\":%llu", first ? "" : ",", st,
						(unsigned long long)n);
			first = 0;
		}
		if (!first)
			r |= buf_putc(&b, '}');
	}
	r |= buf_printf(&b, "},\"requests_total\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
			"\"active_connections\":%lld,\"faults\":{",
			(unsigned long long)total, (unsigned long long)ld(&s->bytes_in),
			(unsigned long long)ld(&s->bytes_out),
			(long long)atomic_load_explicit(&s->conns, memory_order_relaxed));
	for (int k = 0; k < FAULT_COUNT; k++)
		r |= buf_printf(&b, "%s\"%s\":%llu", k ? "," : "", fault_names[k],
				(unsigned long long)ld(&s->faults[k]));
	r |= buf_printf(&b, "},\"objects\":%llu,\"uploads\":%llu}",
			(unsigned long long)objects, (unsigned long long)uploads);
	if (r) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}
