/*
 * test_engine_retry.c - retry policy and failure reporting: which server
 * errors and transport errors are retried (and as which hoist_status),
 * full-jitter backoff bounds, server-named delays, the one-line failure
 * message, and hoist_strerror over the whole status map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialect.h"
#include "retry.h"
#include "status.h"

static void test_classify_http(void **state)
{
	static const struct {
		long http;
		const char *code;
		hoist_status st;
		int retry;
	} rows[] = {
		{ 200, NULL, HOIST_OK, 0 },
		{ 203, "CallbackFailed", HOIST_OK, 0 },
		{ 500, "InternalError", HOIST_E_SERVER, 1 },
		{ 502, NULL, HOIST_E_SERVER, 1 },
		{ 503, "SlowDown", HOIST_E_THROTTLED, 1 },
		{ 503, NULL, HOIST_E_THROTTLED, 1 },
		{ 429, NULL, HOIST_E_THROTTLED, 1 },
		{ 408, "RequestTimeout", HOIST_E_NETWORK, 1 },
		{ 400, "RequestTimeout", HOIST_E_NETWORK, 1 },
		{ 403, "RequestTimeTooSkewed", HOIST_E_AUTH, 1 },
		{ 403, "AccessDenied", HOIST_E_AUTH, 0 },
		{ 403, "SignatureDoesNotMatch", HOIST_E_AUTH, 0 },
		{ 403, "InvalidAccessKeyId", HOIST_E_AUTH, 0 },
		{ 401, NULL, HOIST_E_AUTH, 0 },
		{ 404, "NoSuchBucket", HOIST_E_NOT_FOUND, 0 },
		{ 404, "NoSuchUpload", HOIST_E_NOT_FOUND, 0 },
		{ 400, "InvalidArgument", HOIST_E_SERVER, 0 },
		{ 400, "EntityTooSmall", HOIST_E_SERVER, 0 },
		{ 400, "MalformedXML", HOIST_E_SERVER, 0 },
		{ 400, "InvalidDigest", HOIST_E_CHECKSUM, 1 },
		{ 400, "BadDigest", HOIST_E_CHECKSUM, 1 },
		{ 409, "FileAlreadyExists", HOIST_E_CONFLICT, 0 },
		{ 412, "PreconditionFailed", HOIST_E_CONFLICT, 0 },
		{ 411, "MissingContentLength", HOIST_E_SERVER, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hoist_status st = (hoist_status)99;
		int retry = 9;

		dialect_classify(HOIST_DIALECT_OSS, rows[i].http, rows[i].code, &st, &retry);
		if (st != rows[i].st || retry != rows[i].retry) {
			print_error("row %zu (%ld %s): got %d/%d\n", i, rows[i].http,
				    rows[i].code ? rows[i].code : "-", st, retry);
			fail();
		}
	}
}

static void test_classify_curl(void **state)
{
	static const struct {
		CURLcode cc;
		hoist_status st;
		int retry;
	} rows[] = {
		{ CURLE_COULDNT_CONNECT, HOIST_E_NETWORK, 1 },
		{ CURLE_COULDNT_RESOLVE_HOST, HOIST_E_NETWORK, 1 },
		{ CURLE_OPERATION_TIMEDOUT, HOIST_E_NETWORK, 1 },
		{ CURLE_SEND_ERROR, HOIST_E_NETWORK, 1 },
		{ CURLE_RECV_ERROR, HOIST_E_NETWORK, 1 },
		{ CURLE_GOT_NOTHING, HOIST_E_NETWORK, 1 },
		{ CURLE_PARTIAL_FILE, HOIST_E_NETWORK, 1 },
		{ CURLE_PEER_FAILED_VERIFICATION, HOIST_E_TLS, 0 },
		{ CURLE_SSL_CACERT_BADFILE, HOIST_E_TLS, 0 },
		{ CURLE_SSL_CONNECT_ERROR, HOIST_E_TLS, 1 },
		{ CURLE_OUT_OF_MEMORY, HOIST_E_NOMEM, 0 },
		{ CURLE_ABORTED_BY_CALLBACK, HOIST_E_IO, 0 },
		{ CURLE_URL_MALFORMAT, HOIST_E_INVALID_ARG, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		hoist_status st;
		int retry;

		retry_classify_curl(rows[i].cc, &st, &retry);
		assert_int_equal(st, rows[i].st);
		assert_int_equal(retry, rows[i].retry);
	}
}

static void test_backoff(void **state)
{
	uint64_t rng = retry_seed();
	unsigned n, i;

	(void)state;
	assert_true(rng != 0);
	for (n = 1; n <= 12; n++) {
		uint64_t ceil = 200ULL << n, max = 0, sum = 0;

		if (ceil > 20000)
			ceil = 20000;
		for (i = 0; i < 2000; i++) {
			uint64_t d = retry_backoff_ms(n, 200, 20000, &rng);

			assert_true(d < ceil);
			if (d > max)
				max = d;
			sum += d;
		}
		/* Full jitter: uniform over [0, ceil). */
		assert_true(max > ceil * 9 / 10);
		assert_true(sum / 2000 > ceil * 4 / 10 && sum / 2000 < ceil * 6 / 10);
	}
	assert_true(retry_backoff_ms(3, 0, 0, &rng) == 0);
	rng = 0; /* a zero state must not stick at zero */
	assert_true(retry_backoff_ms(1, 200, 20000, &rng) < 400);
	assert_true(rng != 0);
}

static void test_server_delay(void **state)
{
	(void)state;
	assert_true(retry_server_delay_ms(NULL, NULL, 20000) == 0);
	assert_true(retry_server_delay_ms("3", NULL, 20000) == 3000);
	assert_true(retry_server_delay_ms(NULL, "1500", 20000) == 1500);
	assert_true(retry_server_delay_ms("1", "1500", 20000) == 1500);
	assert_true(retry_server_delay_ms("60", NULL, 20000) == 20000);
	assert_true(retry_server_delay_ms("soon", "-5", 20000) == 0);
	assert_true(retry_server_delay_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL, 20000) == 0);
}

static void test_messages(void **state)
{
	struct failure f;
	struct hoist_result r;
	char *m;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_AUTH;
	f.op = "UploadPart";
	f.part = 7;
	f.http = 403;
	f.code = "SignatureDoesNotMatch";
	f.message = "The request signature we calculated does not match\nthe signature you provided.";
	f.request_id = "5C3D9175B6FC201293AD4890";
	m = status_message(&f);
	assert_string_equal(m, "UploadPart part 7: 403 SignatureDoesNotMatch: The request "
			       "signature we calculated does not match the signature you "
			       "provided. (request id 5C3D9175B6FC201293AD4890)");
	free(m);

	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_NETWORK;
	f.op = "InitiateMultipartUpload";
	f.detail = "Failed to connect to 127.0.0.1 port 1: Connection refused";
	m = status_message(&f);
	assert_string_equal(m, "InitiateMultipartUpload: network error (connect, reset or "
			       "timeout): Failed to connect to 127.0.0.1 port 1: Connection refused");
	free(m);

	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_CHECKSUM;
	f.op = "UploadPart";
	f.part = 3;
	f.http = 200;
	f.detail = "server CRC64 1, ours 2";
	f.request_id = "R";
	m = status_message(&f);
	assert_string_equal(m, "UploadPart part 3: checksum mismatch: server CRC64 1, ours 2 "
			       "(request id R)");
	free(m);

	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_SERVER;
	f.op = "HeadObject";
	f.http = 500;
	m = status_message(&f);
	assert_string_equal(m, "HeadObject: HTTP 500 (the server refused the request)");
	free(m);

	memset(&r, 0, sizeof(r));
	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_NOT_FOUND;
	f.op = "CompleteMultipartUpload";
	f.http = 404;
	f.code = "NoSuchUpload";
	f.message = "gone";
	f.request_id = "RID";
	assert_int_equal(result_set_failure(&r, &f), 0);
	assert_int_equal(r.status, HOIST_E_NOT_FOUND);
	assert_int_equal(r.http_status, 404);
	assert_string_equal(r.error_code, "NoSuchUpload");
	assert_string_equal(r.error_message, "gone");
	assert_string_equal(r.error_request_id, "RID");
	assert_string_equal(r.failed_operation, "CompleteMultipartUpload");
	assert_string_equal(r.message, "CompleteMultipartUpload: 404 NoSuchUpload: gone (request id RID)");
	hoist_result_cleanup(&r);
	assert_null(r.message);
	hoist_result_cleanup(&r); /* safe twice */
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(hoist_strerror(HOIST_OK), "success");
	assert_string_equal(hoist_strerror(HOIST_E_CHECKSUM), "checksum mismatch");
	assert_string_equal(hoist_strerror(HOIST_E_CONFLICT),
			    "the object exists and overwriting is forbidden");
	assert_string_equal(hoist_strerror((hoist_status)-1), "unknown status");
	assert_string_equal(hoist_strerror(HOIST_STATUS_COUNT_), "unknown status");
	assert_string_equal(hoist_version(), HOIST_VERSION_STRING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_http),
		cmocka_unit_test(test_classify_curl),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_server_delay),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
