/*
 * ctx.c - the clock and the log every layer uses (see ctx.h).
 *
 * Layer: base.
 * Threading: reentrant; the clock offset is an atomic, the callback
 * marker thread-local.
 */
#include "ctx.h"

#include <stdio.h>
#include <time.h>

_Thread_local int hoist__in_callback;

uint64_t hoist__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double hoist__now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t ctx_clock_offset(const struct ctx *c)
{
	return atomic_load_explicit(&c->clock_offset, memory_order_relaxed);
}

void ctx_set_clock_offset(struct ctx *c, int64_t offset)
{
	atomic_store_explicit(&c->clock_offset, offset, memory_order_relaxed);
}

int64_t ctx_now(const struct ctx *c)
{
	return (int64_t)time(NULL) + ctx_clock_offset(c);
}

void ctx_log(const struct ctx *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!c->conf->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ctx_callback_enter();
	c->conf->log(line, c->conf->log_userdata);
	ctx_callback_leave();
}
