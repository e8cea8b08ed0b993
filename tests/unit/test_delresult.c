/*
 * test_delresult.c - the quiet DeleteMultipleObjects answer
 * (engine/delresult.c): no body and an empty DeleteResult mean every key
 * went; <Error> entries (url-encoded keys decoded only when the document
 * says EncodingType url) mark exactly the keys they name, with the status
 * of their code; NoSuchKey and keys never asked mark nothing; 1,000 errors
 * are read, the 1,001st refused; broken documents refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "delresult.h"

#define S(x) x, strlen(x)

static void test_all_deleted(void **state)
{
	struct delresult d;
	const char *keys[] = { "a" };
	hoist_status ks[1] = { HOIST_OK };
	size_t first = 99;

	(void)state;
	assert_int_equal(delresult_parse(&d, NULL, 0), 0);
	assert_int_equal(delresult_apply(&d, keys, 1, ks, &first), 0);
	delresult_cleanup(&d);
	assert_int_equal(delresult_parse(&d, S("<?xml version=\"1.0\"?>\n<DeleteResult "
					      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>")), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(ks[0], HOIST_OK);
	assert_int_equal(first, 99);
	delresult_cleanup(&d);
}

static void test_errors_mapped(void **state)
{
	struct delresult d;
	const char *keys[] = { "ok", "a b+%41\xc3\xbc", "gone", "slow", "odd" };
	hoist_status ks[5] = { HOIST_OK, HOIST_OK, HOIST_OK, HOIST_OK, HOIST_OK };
	size_t first = 99;

	(void)state;
	assert_int_equal(delresult_parse(&d, S(
		"<DeleteResult><EncodingType>url</EncodingType>"
		"<Deleted><Key>ok</Key></Deleted>"
		"<Error><Key>never-asked</Key><Code>AccessDenied</Code></Error>"
		"<Error><Key>a%20b%2B%2541%C3%BC</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error>"
		"<Error><Key>gone</Key><Code>NoSuchKey</Code></Error>"
		"<Error><Key>slow</Key><Code>SlowDown</Code></Error>"
		"<Error><Key>odd</Key><Code>InternalError</Code></Error>"
		"</DeleteResult>")), 0);
	assert_int_equal(d.n, 5);
	assert_string_equal(d.errs[1].key, "a b+%41\xc3\xbc");
	assert_int_equal(delresult_apply(&d, keys, 5, ks, &first), 3);
	assert_int_equal(first, 1);
	assert_string_equal(d.errs[first].message, "Access Denied");
	assert_int_equal(ks[0], HOIST_OK);
	assert_int_equal(ks[1], HOIST_E_AUTH);
	assert_int_equal(ks[2], HOIST_OK); /* NoSuchKey: gone, as asked */
	assert_int_equal(ks[3], HOIST_E_THROTTLED);
	assert_int_equal(ks[4], HOIST_E_SERVER);
	delresult_cleanup(&d);

	/* No EncodingType: '%41' is the key as sent. */
	{
		const char *k2[] = { "%41", "A" };
		hoist_status s2[2] = { HOIST_OK, HOIST_OK };

		assert_int_equal(delresult_parse(&d, S("<DeleteResult><Error><Key>%41</Key>"
						      "<Code>AccessDenied</Code></Error></DeleteResult>")), 0);
		assert_int_equal(delresult_apply(&d, k2, 2, s2, &first), 1);
		assert_int_equal(s2[0], HOIST_E_AUTH);
		assert_int_equal(s2[1], HOIST_OK);
		delresult_cleanup(&d);
	}
	assert_int_equal(delresult_code_status(NULL), HOIST_E_SERVER);
	assert_int_equal(delresult_code_status("NoSuchBucket"), HOIST_E_NOT_FOUND);
}

static void test_many_errors(void **state)
{
	struct buf b = BUF_INIT;
	struct delresult d;
	int i;

	(void)state;
	assert_int_equal(buf_puts(&b, "<DeleteResult>"), 0);
	for (i = 0; i < DELRESULT_MAX_KEYS; i++) {
		assert_int_equal(buf_printf(&b, "<Error><Key>k%d</Key><Code>AccessDenied</Code></Error>", i), 0);
	}
	assert_int_equal(buf_puts(&b, "</DeleteResult>"), 0);
	assert_int_equal(delresult_parse(&d, b.data, b.len), 0);
	assert_int_equal(d.n, DELRESULT_MAX_KEYS);
	delresult_cleanup(&d);
	b.len -= strlen("</DeleteResult>");
	assert_int_equal(buf_puts(&b, "<Error><Key>one-more</Key></Error></DeleteResult>"), 0);
	assert_int_equal(delresult_parse(&d, b.data, b.len), -1);
	delresult_cleanup(&d);
	buf_free(&b);
}

static void test_refused(void **state)
{
	struct delresult d;

	(void)state;
	/* Another root, an Error without Key, a document cut short. */
	assert_int_equal(delresult_parse(&d, S("<Error><Code>AccessDenied</Code></Error>")), -1);
	delresult_cleanup(&d);
	assert_int_equal(delresult_parse(&d, S("<DeleteResult><Error><Code>X</Code></Error>"
					      "</DeleteResult>")), -1);
	delresult_cleanup(&d);
	assert_int_equal(delresult_parse(&d, S("<DeleteResult><Error>")), -1);
	delresult_cleanup(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_deleted),
		cmocka_unit_test(test_errors_mapped),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
