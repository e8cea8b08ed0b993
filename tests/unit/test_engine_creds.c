/*
 * test_engine_creds.c - the key holder and its refresher (engine/creds.c).
 *
 * - creds_due: when a set is renewed, table-driven;
 * - static keys: one set, never refreshed, an expiry report does nothing;
 * - the swap: reader threads take and check sets (key id, secret and
 *   token of one set always belong together) while the refresher swaps
 *   a new set in as fast as the provider gives them;
 * - an expiry report wakes the refresher at once for a set that does not
 *   expire, a stale report (a newer set is in) does nothing, and a waiter
 *   is released when the new set is in;
 * - a provider that fails, or returns the set in use, leaves the current
 *   set in place and ends the pending state (no retry on old keys
 *   forever); a failing first call fails creds_new with its line.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"
#include "ctx.h"

static struct conf conf;
static struct ctx ctx = { .conf = &conf };

/* A provider whose n-th set is AK<n> / SK<n> / TK<n>. */
struct fake {
	atomic_int calls;
	int lifetime;              /* expiration = now + lifetime; 0: none */
	int fail_from;             /* calls >= this fail (0: never) */
	int same_from;             /* calls >= this return the previous set */
	char ak[32], sk[32], tk[32];
};

static hoist_status fake_fn(struct hoist_credentials *out, char *err, size_t errlen, void *ud)
{
	struct fake *f = ud;
	int n = atomic_fetch_add(&f->calls, 1) + 1;

	if (f->fail_from && n >= f->fail_from) {
		snprintf(err, errlen, "fake provider: call %d refused", n);
		return HOIST_E_NETWORK;
	}
	if (!(f->same_from && n >= f->same_from)) {
		snprintf(f->ak, sizeof(f->ak), "AK%d", n);
		snprintf(f->sk, sizeof(f->sk), "SK%d", n);
		snprintf(f->tk, sizeof(f->tk), "TK%d", n);
	}
	out->access_key_id = f->ak;
	out->access_key_secret = f->sk;
	out->session_token = f->tk;
	out->expiration = f->lifetime ? (int64_t)time(NULL) + f->lifetime : 0;
	return HOIST_OK;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_due(void **state)
{
	static const struct {
		int64_t taken, exp;
		unsigned ahead;
		int64_t due;
	} rows[] = {
		{ 1000, 0, 0, INT64_MAX },        /* does not expire: only on a report */
		{ 1000, 1020, 0, 1015 },          /* 20 s token: a quarter ahead */
		{ 1000, 1000 + 900, 0, 1675 },    /* 15 min: 3 min 45 s ahead */
		{ 1000, 1000 + 3600, 0, 4300 },   /* 1 h: capped at 300 s ahead */
		{ 1000, 1000 + 43200, 0, 43900 }, /* 12 h: 300 s */
		{ 1000, 1020, 2, 1018 },          /* an explicit lead */
		{ 1000, 990, 0, 990 },            /* already expired: due now */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(creds_due(rows[i].taken, rows[i].exp, rows[i].ahead), rows[i].due);
	}
}

static void test_static(void **state)
{
	struct creds *c = NULL;
	struct creds_set *s;
	char err[128];

	(void)state;
	assert_int_equal(creds_new(&c, &ctx, "ak", "sk", "tok", NULL, err, sizeof(err)), HOIST_OK);
	assert_false(creds_refreshable(c));
	s = creds_get(c);
	assert_string_equal(s->ak, "ak");
	assert_string_equal(s->sk, "sk");
	assert_string_equal(s->token, "tok");
	assert_int_equal(s->gen, 1);
	assert_int_equal(s->expiration, 0);
	creds_expired(c, s->gen);
	assert_false(creds_pending(c, s->gen));
	creds_put(s);
	creds_free(c);

	/* Anonymous: a set without keys. */
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, NULL, err, sizeof(err)), HOIST_OK);
	s = creds_get(c);
	assert_null(s->ak);
	assert_null(s->token);
	creds_put(s);
	creds_free(c);
}

struct reader {
	struct creds *c;
	atomic_int *stop;
	long checked;
	long torn;
	uint64_t max_gen;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(r->stop)) {
		struct creds_set *s = creds_get(r->c);
		int a, b, t;

		if (sscanf(s->ak, "AK%d", &a) != 1 || sscanf(s->sk, "SK%d", &b) != 1 ||
		    sscanf(s->token, "TK%d", &t) != 1 || a != b || b != t || (uint64_t)a != s->gen) {
			r->torn++;
		}
		if (s->gen > r->max_gen) {
			r->max_gen = s->gen;
		}
		r->checked++;
		creds_put(s);
	}
	return NULL;
}

/* Sets that are due at once (a 1 s life, renewed 1 s ahead): the refresher
 * swaps continuously while four threads read. */
static void test_swap_under_readers(void **state)
{
	struct fake f = { .lifetime = 1 };
	struct creds_options o = { fake_fn, &f, 1 };
	struct creds *c = NULL;
	struct reader rd[4];
	pthread_t th[4];
	atomic_int stop = 0;
	char err[128];
	long total = 0;
	uint64_t swaps;
	int i;

	(void)state;
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_OK);
	assert_true(creds_refreshable(c));
	for (i = 0; i < 4; i++) {
		rd[i] = (struct reader){ .c = c, .stop = &stop };
		assert_int_equal(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
	}
	sleep_ms(300);
	atomic_store(&stop, 1);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].torn, 0);
		total += rd[i].checked;
	}
	swaps = creds_swaps(c);
	/* Each set is due the moment it is in, so the refresher fetches
	 * back to back: far more than a handful in 300 ms, and the readers
	 * saw sets beyond the first. */
	assert_true(swaps >= 10);
	assert_true(total > 1000);
	assert_true(rd[0].max_gen > 1 || rd[1].max_gen > 1);
	creds_free(c);
	assert_true(atomic_load(&f.calls) >= (int)swaps + 1);
}

static void test_expired_report(void **state)
{
	struct fake f = { .lifetime = 0 }; /* never expires: only reports refresh */
	struct creds_options o = { fake_fn, &f, 0 };
	struct creds *c = NULL;
	struct creds_set *s;
	char err[128];

	(void)state;
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_OK);
	sleep_ms(100);
	assert_int_equal(atomic_load(&f.calls), 1); /* nothing due */
	s = creds_get(c);
	assert_string_equal(s->token, "TK1");
	creds_expired(c, s->gen);
	creds_wait(c, s->gen, 5000);
	assert_false(creds_pending(c, s->gen));
	creds_put(s);
	s = creds_get(c);
	assert_int_equal(s->gen, 2);
	assert_string_equal(s->ak, "AK2");
	assert_string_equal(s->token, "TK2");
	creds_put(s);
	assert_int_equal(atomic_load(&f.calls), 2);
	/* A late report about set 1 (a request signed before the swap) asks
	 * for nothing: set 2 is newer. */
	creds_expired(c, 1);
	assert_false(creds_pending(c, 1));
	sleep_ms(100);
	assert_int_equal(atomic_load(&f.calls), 2);
	creds_free(c);
}

static void test_failing_and_same(void **state)
{
	struct fake f = { .lifetime = 0, .fail_from = 2 };
	struct creds_options o = { fake_fn, &f, 0 };
	struct creds *c = NULL;
	struct creds_set *s;
	char err[128];

	(void)state;
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_OK);
	creds_expired(c, 1);
	creds_wait(c, 1, 5000);
	assert_false(creds_pending(c, 1)); /* over, without a new set */
	s = creds_get(c);
	assert_int_equal(s->gen, 1);       /* the old set stays */
	assert_string_equal(s->token, "TK1");
	creds_put(s);
	assert_int_equal(atomic_load(&f.calls), 2);
	creds_free(c);

	/* The provider hands back the set in use: not swapped in. */
	f = (struct fake){ .lifetime = 0, .same_from = 2 };
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_OK);
	creds_expired(c, 1);
	creds_wait(c, 1, 5000);
	assert_false(creds_pending(c, 1));
	assert_int_equal(creds_swaps(c), 0);
	s = creds_get(c);
	assert_int_equal(s->gen, 1);
	creds_put(s);
	creds_free(c);

	/* The first call fails: so does creds_new, with the provider's line. */
	f = (struct fake){ .fail_from = 1 };
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_E_NETWORK);
	assert_null(c);
	assert_string_equal(err, "fake provider: call 1 refused");
}

/* A provider that returns no key is refused, whatever status it says. */
static hoist_status empty_fn(struct hoist_credentials *out, char *err, size_t errlen, void *ud)
{
	(void)err;
	(void)errlen;
	(void)ud;
	out->access_key_id = "";
	out->access_key_secret = "x";
	return HOIST_OK;
}

static void test_empty_provider(void **state)
{
	struct creds_options o = { empty_fn, NULL, 0 };
	struct creds *c = NULL;
	char err[128];

	(void)state;
	assert_int_equal(creds_new(&c, &ctx, NULL, NULL, NULL, &o, err, sizeof(err)), HOIST_E_AUTH);
	assert_null(c);
	assert_non_null(strstr(err, "no access key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_swap_under_readers),
		cmocka_unit_test(test_expired_report),
		cmocka_unit_test(test_failing_and_same),
		cmocka_unit_test(test_empty_provider),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
