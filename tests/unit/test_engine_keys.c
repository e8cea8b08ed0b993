/*
 * test_engine_keys.c - what the engine puts on the wire besides bodies:
 * endpoint parsing, request URLs (path and virtual-host style) with
 * percent-encoded keys (space, +, %, UTF-8, /, dot segments) and queries,
 * ETag rules and the OSS / S3 multipart ETag vectors, and the callback
 * JSON headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "callback.h"
#include "checksum.h"
#include "dialect.h"
#include "ctx.h"

static void conf_for(struct conf *c, const char *url, int path_style)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	assert_int_equal(endpoint_parse(&c->ep, url, err, sizeof(err)), 0);
	c->path_style = path_style;
}

static void test_endpoint_parse(void **state)
{
	static const struct {
		const char *in;
		int ok;
		const char *scheme, *host, *port;
		int is_ip;
	} rows[] = {
		{ "http://127.0.0.1:9000", 1, "http", "127.0.0.1", "9000", 1 },
		{ "http://127.0.0.1:9000/", 1, "http", "127.0.0.1", "9000", 1 },
		{ "https://oss-cn-hangzhou.aliyuncs.com", 1, "https", "oss-cn-hangzhou.aliyuncs.com", NULL, 0 },
		{ "oss-cn-hangzhou.aliyuncs.com", 1, "https", "oss-cn-hangzhou.aliyuncs.com", NULL, 0 },
		{ "http://[::1]:8080", 1, "http", "[::1]", "8080", 1 },
		{ "http://localhost:1234", 1, "http", "localhost", "1234", 1 },
		{ "ftp://example.com", 0, NULL, NULL, NULL, 0 },
		{ "http://example.com/some/path", 0, NULL, NULL, NULL, 0 },
		{ "http://example.com/?q=1", 0, NULL, NULL, NULL, 0 },
		{ "http://user:pw@example.com", 0, NULL, NULL, NULL, 0 },
		{ "http://", 0, NULL, NULL, NULL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct endpoint ep;
		char err[256] = "";
		int rc = endpoint_parse(&ep, rows[i].in, err, sizeof(err));

		if (!rows[i].ok) {
			assert_int_equal(rc, -1);
			assert_true(err[0] != '\0');
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(ep.scheme, rows[i].scheme);
		assert_string_equal(ep.host, rows[i].host);
		if (rows[i].port)
			assert_string_equal(ep.port, rows[i].port);
		else
			assert_null(ep.port);
		assert_int_equal(ep.is_ip, rows[i].is_ip);
		endpoint_cleanup(&ep);
	}
}

static void test_default_endpoint(void **state)
{
	char *s;

	(void)state;
	s = dialect_default_endpoint(HOIST_DIALECT_OSS, "cn-hangzhou", 0);
	assert_string_equal(s, "https://oss-cn-hangzhou.aliyuncs.com");
	free(s);
	s = dialect_default_endpoint(HOIST_DIALECT_OSS, "cn-shanghai", 1);
	assert_string_equal(s, "https://oss-cn-shanghai-internal.aliyuncs.com");
	free(s);
	s = dialect_default_endpoint(HOIST_DIALECT_S3, "eu-west-1", 0);
	assert_string_equal(s, "https://s3.eu-west-1.amazonaws.com");
	free(s);
}

static void check_url(struct conf *c, const char *bucket, const char *key,
		      const struct sign_kv *q, size_t nq, const char *url,
		      const char *host, const char *path)
{
	struct req_url u;

	assert_int_equal(dialect_url(&u, c, bucket, key, q, nq), 0);
	assert_string_equal(u.url.data, url);
	assert_string_equal(u.host.data, host);
	assert_string_equal(u.path.data, path);
	req_url_cleanup(&u);
}

static void test_key_encoding(void **state)
{
	struct conf c;
	const struct sign_kv part[] = { { "partNumber", "7" }, { "uploadId", "0004B98/+=" } };
	const struct sign_kv init[] = { { "encoding-type", "url" }, { "uploads", NULL } };

	(void)state;
	conf_for(&c, "http://127.0.0.1:9000", 1);
	check_url(&c, "bkt", "plain.bin", NULL, 0, "http://127.0.0.1:9000/bkt/plain.bin",
		  "127.0.0.1:9000", "/bkt/plain.bin");
	/* space, '+', '%', '/', UTF-8 (é = C3 A9), unreserved - _ . ~ kept. */
	check_url(&c, "bkt", "dir/a b+c%d/\xc3\xa9-_.~x", NULL, 0,
		  "http://127.0.0.1:9000/bkt/dir/a%20b%2Bc%25d/%C3%A9-_.~x", "127.0.0.1:9000",
		  "/bkt/dir/a b+c%d/\xc3\xa9-_.~x");
	/* Dot segments and doubled slashes are part of the key. */
	check_url(&c, "bkt", "a/../b//c", NULL, 0, "http://127.0.0.1:9000/bkt/a/../b//c",
		  "127.0.0.1:9000", "/bkt/a/../b//c");
	/* Reserved characters and '?', '#', '&' never leak into the query. */
	check_url(&c, "bkt", "q?x=1#f&y", NULL, 0,
		  "http://127.0.0.1:9000/bkt/q%3Fx%3D1%23f%26y", "127.0.0.1:9000",
		  "/bkt/q?x=1#f&y");
	/* Query values are encoded with '/' too; bare sub-resources. */
	check_url(&c, "bkt", "k", part, 2,
		  "http://127.0.0.1:9000/bkt/k?partNumber=7&uploadId=0004B98%2F%2B%3D",
		  "127.0.0.1:9000", "/bkt/k");
	check_url(&c, "bkt", "k", init, 2, "http://127.0.0.1:9000/bkt/k?encoding-type=url&uploads",
		  "127.0.0.1:9000", "/bkt/k");
	/* Bucket-level request. */
	check_url(&c, "bkt", NULL, init + 1, 1, "http://127.0.0.1:9000/bkt/?uploads",
		  "127.0.0.1:9000", "/bkt/");
	endpoint_cleanup(&c.ep);

	conf_for(&c, "https://oss-cn-hangzhou.aliyuncs.com", 0);
	check_url(&c, "bkt", "a b", NULL, 0, "https://bkt.oss-cn-hangzhou.aliyuncs.com/a%20b",
		  "bkt.oss-cn-hangzhou.aliyuncs.com", "/a b");
	check_url(&c, "bkt", NULL, init + 1, 1, "https://bkt.oss-cn-hangzhou.aliyuncs.com/?uploads",
		  "bkt.oss-cn-hangzhou.aliyuncs.com", "/");
	endpoint_cleanup(&c.ep);
}

static void test_etags(void **state)
{
	uint8_t md5[16];
	char hex[33];

	(void)state;
	md5_once(md5, "0123456789", 10);
	hex_encode(hex, md5, 16, 1);
	assert_true(etag_equals_md5(hex, md5));
	{
		char q[40];

		snprintf(q, sizeof(q), "\"%s\"", hex);
		assert_true(etag_equals_md5(q, md5));
		hex_encode(hex, md5, 16, 0); /* S3: lower case */
		snprintf(q, sizeof(q), "\"%s\"", hex);
		assert_true(etag_equals_md5(q, md5));
	}
	md5[0] ^= 1;
	assert_false(etag_equals_md5(hex, md5));
	assert_false(etag_equals_md5(NULL, md5));
	assert_false(etag_equals_md5("\"abc\"", md5));
	assert_false(etag_equals_md5("\"0123456789abcdef0123456789abcdef-2\"", md5));
	assert_true(etag_equal("\"ABC-2\"", "abc-2"));
	assert_true(etag_equal("W/\"abc\"", "\"ABC\""));
	assert_false(etag_equal("\"\"", "\"\""));
	assert_false(etag_equal("abc", "abd"));

	/* The multipart form "<hex>-N", and what is not (s3rver's plain MD5,
	 * RGW's empty ETag, junk). */
	{
		static const struct {
			const char *etag;
			int multipart;
		} rows[] = {
			{ "\"097DE458AD02B5F89F9D0530231876AB-2\"", 1 },
			{ "5f6ade94ad493a86356676efa2257b91-10000", 1 },
			{ "W/\"abc-3\"", 1 },
			{ "\"a517669a3a3d4ec909ae2d72aece4f49\"", 0 },
			{ "\"\"", 0 },
			{ "", 0 },
			{ NULL, 0 },
			{ "\"-2\"", 0 },
			{ "\"abc-\"", 0 },
			{ "\"abc-2x\"", 0 },
			{ "\"abc-2-\"", 0 },
		};
		size_t i;

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			assert_int_equal(etag_is_multipart(rows[i].etag), rows[i].multipart);
		}
	}
}

/* oss-protocol.md 4.3: OSS hashes the upper-case hex text of each part
 * MD5; the vectors are a real-server value and a computed one. */
static void test_multipart_etag(void **state)
{
	static const char *const bing[] = {
		"251AD9D223371CF6380544DF72E106CB", "215A888785362D10E3F5204BFAB1EEDF",
		"547DF973F1622420B4D20B5E7C6D329C", "B820869246C889A0AD3C54043F2B7E05",
		"BCCAB4D694301EB00A03686D12F331A7",
	};
	uint8_t md5s[5][16];
	char out[48];
	unsigned char *a, *b;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(hex_decode(md5s[i], bing[i], 16), 0);
	assert_int_equal(dialect_multipart_etag(HOIST_DIALECT_OSS, out, sizeof(out),
						(const uint8_t(*)[16])md5s, 5), 0);
	assert_string_equal(out, "\"2351E662233817A7AE974D8C5B0876DD-5\"");

	a = malloc(102400);
	b = malloc(1000);
	memset(a, 0x61, 102400);
	memset(b, 0x62, 1000);
	md5_once(md5s[0], a, 102400);
	md5_once(md5s[1], b, 1000);
	assert_int_equal(dialect_multipart_etag(HOIST_DIALECT_OSS, out, sizeof(out),
						(const uint8_t(*)[16])md5s, 2), 0);
	assert_string_equal(out, "\"090978F3FDABF992C84535BA4A870EE0-2\"");
	/* S3: MD5 over the raw digests, lower-case hex. */
	{
		uint8_t raw[32], d[16];
		char hex[33], want[48];

		memcpy(raw, md5s[0], 16);
		memcpy(raw + 16, md5s[1], 16);
		md5_once(d, raw, 32);
		hex_encode(hex, d, 16, 0);
		snprintf(want, sizeof(want), "\"%s-2\"", hex);
		assert_int_equal(dialect_multipart_etag(HOIST_DIALECT_S3, out, sizeof(out),
							(const uint8_t(*)[16])md5s, 2), 0);
		assert_string_equal(out, want);
	}
	free(a);
	free(b);
}

static char *b64dec(const char *s)
{
	size_t n = strlen(s);
	char *out = calloc(1, n + 4);
	long len = base64_decode((uint8_t *)out, s, n);

	assert_true(len >= 0);
	out[len] = '\0';
	return out;
}

static void test_callback_json(void **state)
{
	const char *vars[] = { "x:uid=12345", "x:order id=6=7", "x:q=\"quoted\"\\\n" };
	const char *bad[] = { "x:ok=1", "noprefix=1" };
	char *h, *j;
	long badi = 0;

	(void)state;
	h = callback_header("http://127.0.0.1:1/cb?a=1", "bucket=${bucket}&x=${x:uid}",
			    "cb.example", "application/x-www-form-urlencoded");
	j = b64dec(h);
	assert_string_equal(j, "{\"callbackUrl\":\"http://127.0.0.1:1/cb?a=1\","
			       "\"callbackBody\":\"bucket=${bucket}&x=${x:uid}\","
			       "\"callbackHost\":\"cb.example\","
			       "\"callbackBodyType\":\"application/x-www-form-urlencoded\"}");
	free(h);
	free(j);
	h = callback_header("http://h/", "{\"size\":${size}}\t\x01", NULL, NULL);
	j = b64dec(h);
	assert_string_equal(j, "{\"callbackUrl\":\"http://h/\","
			       "\"callbackBody\":\"{\\\"size\\\":${size}}\\t\\u0001\"}");
	free(h);
	free(j);

	h = callback_var_header(vars, 3, &badi);
	assert_int_equal(badi, -1);
	j = b64dec(h);
	assert_string_equal(j, "{\"x:uid\":\"12345\",\"x:order id\":\"6=7\","
			       "\"x:q\":\"\\\"quoted\\\"\\\\\\n\"}");
	free(h);
	free(j);
	assert_null(callback_var_header(bad, 2, &badi));
	assert_int_equal(badi, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_parse),
		cmocka_unit_test(test_default_endpoint),
		cmocka_unit_test(test_key_encoding),
		cmocka_unit_test(test_etags),
		cmocka_unit_test(test_multipart_etag),
		cmocka_unit_test(test_callback_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
