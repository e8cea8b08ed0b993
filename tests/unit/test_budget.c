/*
 * test_budget.c - the engine's memory budget: reservations that fit, a
 * transfer's cap, refusal of what can never fit, a waiter released by
 * another thread's release, and a waiter released by its cancel flag.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "budget.h"

static void test_fit_cap_refuse(void **state)
{
	struct budget b;
	struct budget_share s1, s2;

	(void)state;
	budget_init(&b, 100);
	budget_share_init(&s1, &b, 0);
	budget_share_init(&s2, &b, 30);
	assert_int_equal(budget_share_max(&s1), 100);
	assert_int_equal(budget_share_max(&s2), 30);
	assert_int_equal(budget_acquire(&s1, 60, NULL), 0);
	assert_int_equal(budget_try_acquire(&s2, 31), -1); /* its cap */
	assert_int_equal(budget_try_acquire(&s2, 30), 0);
	assert_int_equal(budget_try_acquire(&s1, 11), -1); /* the engine's */
	assert_int_equal(budget_try_acquire(&s1, 10), 0);
	assert_int_equal(budget_acquire(&s2, 31, NULL), -1); /* never fits */
	assert_int_equal(budget_acquire(&s1, 101, NULL), -1);
	budget_release(&s1, 70);
	budget_release(&s2, 30);
	assert_int_equal(budget_try_acquire(&s1, 100), 0);
	assert_int_equal(budget_peak(&b), 100);
	budget_release(&s1, 100);
	budget_cleanup(&b);
}

struct waiter {
	struct budget_share *s;
	atomic_int cancel;
	int rc;
	atomic_int done;
};

static void *wait_for(void *arg)
{
	struct waiter *w = arg;

	w->rc = budget_acquire(w->s, 50, &w->cancel);
	atomic_store(&w->done, 1);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_wait_release_and_cancel(void **state)
{
	struct budget b;
	struct budget_share s;
	struct waiter w = { .s = &s };
	pthread_t t;

	(void)state;
	budget_init(&b, 100);
	budget_share_init(&s, &b, 0);
	assert_int_equal(budget_acquire(&s, 80, NULL), 0);
	/* Released by another thread's release. */
	pthread_create(&t, NULL, wait_for, &w);
	sleep_ms(150);
	assert_int_equal(atomic_load(&w.done), 0);
	budget_release(&s, 80);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	/* Released by its cancel flag (set as a signal handler would). */
	atomic_store(&w.done, 0);
	assert_int_equal(budget_acquire(&s, 50, NULL), 0);
	pthread_create(&t, NULL, wait_for, &w);
	sleep_ms(150);
	assert_int_equal(atomic_load(&w.done), 0);
	atomic_store(&w.cancel, 1);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 1);
	budget_release(&s, 100);
	assert_int_equal(budget_try_acquire(&s, 100), 0);
	budget_release(&s, 100);
	budget_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_cap_refuse),
		cmocka_unit_test(test_wait_release_and_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
