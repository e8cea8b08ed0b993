/*
 * test_sign.c - OSS V1, OSS V4 and AWS SigV4 against the published vectors:
 * the Go v2 / Py v2 SDK unit vectors and the multipart vectors of
 * oss-protocol.md §7, and the four S3 examples of AWS's "Signature Version 4
 * header-based auth" documentation.  Each vector checks the canonical form
 * as well as the signature, so a mismatch points at the line that differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sign.h"

#define MAXKV 10

/* assert_string_equal that names the vector when it fails */
#define check_str(what, got, want)                                           \
	do {                                                                 \
		const char *g_ = (got), *w_ = (want);                         \
		if (!g_ || strcmp(g_, w_) != 0) {                             \
			print_error("vector \"%s\": %s differs\n", (what), #got); \
		}                                                             \
		assert_non_null(g_);                                          \
		assert_string_equal(g_, w_);                                  \
	} while (0)

/* A request description with NULL-name-terminated arrays, so the tables
 * below read like the requests they describe. */
struct req {
	const char *method, *bucket, *key, *path;
	struct sign_kv query[MAXKV];
	struct sign_kv headers[MAXKV];
};

static size_t kv_count(const struct sign_kv *kv)
{
	size_t n = 0;

	while (n < MAXKV && kv[n].name) {
		n++;
	}
	return n;
}

static struct sign_request to_sign(const struct req *q)
{
	struct sign_request r;

	memset(&r, 0, sizeof(r));
	r.method = q->method;
	r.bucket = q->bucket;
	r.key = q->key;
	r.path = q->path;
	r.query = q->query;
	r.nquery = kv_count(q->query);
	r.headers = q->headers;
	r.nheaders = kv_count(q->headers);
	return r;
}

/* ---- OSS V1 ----------------------------------------------------------------- */

#define V1_DATE "Wed, 28 Dec 2022 10:27:41 GMT"

static const struct {
	const char *what;
	struct req req;
	const char *date;
	const char *sts;
	const char *sig;
} v1_vectors[] = {
	{ "TestV1AuthHeader 1",
	  { "PUT", "examplebucket", "nelson", NULL, { { NULL, NULL } },
	    { { "Content-MD5", "eB5eJF1ptWaXm4bijSPyxw==" }, { "Content-Type", "text/html" },
	      { "x-oss-meta-author", "alice" }, { "x-oss-meta-magic", "abracadabra" },
	      { "x-oss-date", V1_DATE } } },
	  V1_DATE,
	  "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n" V1_DATE "\nx-oss-date:" V1_DATE
	  "\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson",
	  "kSHKmLxlyEAKtZPkJhG9bZb5k7M=" },
	{ "TestV1AuthHeader 2 (?acl)",
	  { "PUT", "examplebucket", "nelson", NULL, { { "acl", NULL } },
	    { { "Content-MD5", "eB5eJF1ptWaXm4bijSPyxw==" }, { "Content-Type", "text/html" },
	      { "x-oss-meta-author", "alice" }, { "x-oss-meta-magic", "abracadabra" },
	      { "x-oss-date", V1_DATE } } },
	  V1_DATE,
	  "PUT\neB5eJF1ptWaXm4bijSPyxw==\ntext/html\n" V1_DATE "\nx-oss-date:" V1_DATE
	  "\nx-oss-meta-author:alice\nx-oss-meta-magic:abracadabra\n/examplebucket/nelson?acl",
	  "/afkugFbmWDQ967j1vr6zygBLQk=" },
	{ "TestV1AuthHeader 3 (resourceGroup, bucket only)",
	  { "GET", "examplebucket", NULL, NULL,
	    { { "resourceGroup", "" }, { "non-resousce", "null" } },
	    { { "x-oss-date", V1_DATE } } },
	  V1_DATE,
	  "GET\n\n\n" V1_DATE "\nx-oss-date:" V1_DATE "\n/examplebucket/?resourceGroup",
	  "vkQmfuUDyi1uDi3bKt67oemssIs=" },
	{ "TestV1AuthHeader 4 (sorted sub-resources)",
	  { "GET", "examplebucket", NULL, NULL,
	    { { "resourceGroup", "" }, { "acl", "" } },
	    { { "x-oss-date", V1_DATE } } },
	  V1_DATE,
	  "GET\n\n\n" V1_DATE "\nx-oss-date:" V1_DATE "\n/examplebucket/?acl&resourceGroup",
	  "x3E5TgOvl/i7PN618s5mEvpJDYk=" },
	{ "TestV1AuthQuery 5 (presigned)",
	  { "GET", "bucket", "key", NULL,
	    { { "versionId", "versionId" }, { "OSSAccessKeyId", "ak" },
	      { "Expires", "1699807420" } },
	    { { NULL, NULL } } },
	  "1699807420",
	  "GET\n\n\n1699807420\n/bucket/key?versionId=versionId",
	  "dcLTea+Yh9ApirQ8o8dOPqtvJXQ=" },
	{ "InitiateMultipartUpload",
	  { "POST", "examplebucket", "multipart.data", NULL, { { "uploads", NULL } },
	    { { "Content-Type", "application/octet-stream" } } },
	  V1_DATE,
	  "POST\n\napplication/octet-stream\n" V1_DATE "\n/examplebucket/multipart.data?uploads",
	  "KQ3PJnFGaP+UO/zEv21P7CP1qLk=" },
	{ "UploadPart",
	  { "PUT", "examplebucket", "multipart.data", NULL,
	    { { "uploadId", "0004B9895DBBB6EC9" }, { "partNumber", "1" } },
	    { { NULL, NULL } } },
	  V1_DATE,
	  "PUT\n\n\n" V1_DATE
	  "\n/examplebucket/multipart.data?partNumber=1&uploadId=0004B9895DBBB6EC9",
	  "Q99aqajimzbzP3GghUN5ARawSuI=" },
	{ "CompleteMultipartUpload (STS, encoding-type not signed)",
	  { "POST", "examplebucket", "multipart.data", NULL,
	    { { "encoding-type", "url" }, { "uploadId", "0004B9895DBBB6EC9" } },
	    { { "Content-MD5", "eB5eJF1ptWaXm4bijSPyxw==" },
	      { "Content-Type", "application/xml" }, { "x-oss-security-token", "token" } } },
	  V1_DATE,
	  "POST\neB5eJF1ptWaXm4bijSPyxw==\napplication/xml\n" V1_DATE
	  "\nx-oss-security-token:token\n/examplebucket/multipart.data?uploadId=0004B9895DBBB6EC9",
	  "Y5oP1y9D5mRcNKrpnMUdgtCXZig=" },
};

static void test_v1_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(v1_vectors) / sizeof(v1_vectors[0]); i++) {
		struct sign_request r = to_sign(&v1_vectors[i].req);
		char *sts = sign_oss_v1_string_to_sign(&r, v1_vectors[i].date);
		char sig[29];

		check_str(v1_vectors[i].what, sts, v1_vectors[i].sts);
		free(sts);
		assert_int_equal(sign_oss_v1(sig, "sk", &r, v1_vectors[i].date), 0);
		check_str(v1_vectors[i].what, sig, v1_vectors[i].sig);
	}
}

/* Header canonicalisation: names lower-cased, values trimmed, repeats
 * joined in the order sent, non-x-oss headers left out, the key raw. */
static void test_v1_canonical_headers(void **state)
{
	struct req q = {
		"PUT", "b", "dir/a b+c%2F", NULL,
		{ { "x-oss-process", "image/resize" }, { "partNumber", "3" }, { "prefix", "p" } },
		{ { "X-OSS-Meta-B", "  two  " }, { "x-oss-meta-a", "1" }, { "Host", "h" },
		  { "x-oss-meta-b", "one" }, { "content-type", " text/plain " } },
	};
	struct sign_request r = to_sign(&q);
	char *sts = sign_oss_v1_string_to_sign(&r, "D");

	(void)state;
	assert_non_null(sts);
	assert_string_equal(sts, "PUT\n\ntext/plain\nD\nx-oss-meta-a:1\nx-oss-meta-b:two,one\n"
				 "/b/dir/a b+c%2F?partNumber=3&x-oss-process=image/resize");
	free(sts);

	/* service-level request */
	q.bucket = NULL;
	q.key = NULL;
	memset(q.query, 0, sizeof(q.query));
	memset(q.headers, 0, sizeof(q.headers));
	r = to_sign(&q);
	sts = sign_oss_v1_string_to_sign(&r, "D");
	assert_string_equal(sts, "PUT\n\n\nD\n/");
	free(sts);

	assert_true(sign_oss_v1_is_subresource("uploads"));
	assert_true(sign_oss_v1_is_subresource("uploadId"));
	assert_true(sign_oss_v1_is_subresource("partNumber"));
	assert_true(sign_oss_v1_is_subresource("security-token"));
	assert_true(sign_oss_v1_is_subresource("x-oss-anything"));
	assert_false(sign_oss_v1_is_subresource("encoding-type"));
	assert_false(sign_oss_v1_is_subresource("max-parts"));
	assert_false(sign_oss_v1_is_subresource("UPLOADS"));
	assert_false(sign_oss_v1_is_subresource(NULL));
}

/* ---- OSS V4 ----------------------------------------------------------------- */

#define V4_KEY "1234+-/123/1.txt"
#define V4_QUERY \
	{ { "param1", "value1" }, { "+param1", "value3" }, { "|param1", "value4" }, \
	  { "+param2", "" }, { "|param2", "" }, { "param2", "" } }
#define V4_CQUERY "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2"

static const char *const addl_a[] = { "ZAbc", "abc" };
static const char *const addl_b[] = { "x-oss-no-exist", "ZAbc", "x-oss-head1", "abc" };

static const struct {
	const char *what;
	struct req req;
	const char *datetime;
	const char *const *addl;
	size_t naddl;
	const char *canonical; /* NULL: not checked */
	const char *cquery;    /* NULL: not checked */
	const char *sts_hash;  /* hash line of the string to sign; NULL: not checked */
	const char *additional;
	const char *sig;
} v4_vectors[] = {
	{ "TestV4AuthHeader",
	  { "PUT", "bucket", V4_KEY, NULL, V4_QUERY,
	    { { "x-oss-head1", "value" }, { "abc", "value" }, { "ZAbc", "value" },
	      { "XYZ", "value" }, { "content-type", "text/plain" },
	      { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231216T162057Z" } } },
	  "20231216T162057Z", NULL, 0,
	  "PUT\n/bucket/1234%2B-/123/1.txt\n" V4_CQUERY "\n"
	  "content-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n"
	  "x-oss-date:20231216T162057Z\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD",
	  V4_CQUERY, "f4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4", "",
	  "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe" },
	{ "TestV4AuthHeader additional {ZAbc, abc}",
	  { "PUT", "bucket", V4_KEY, NULL, V4_QUERY,
	    { { "x-oss-head1", "value" }, { "abc", "value" }, { "ZAbc", "value" },
	      { "XYZ", "value" }, { "content-type", "text/plain" },
	      { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231216T172512Z" } } },
	  "20231216T172512Z", addl_a, 2,
	  "PUT\n/bucket/1234%2B-/123/1.txt\n" V4_CQUERY "\n"
	  "abc:value\ncontent-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n"
	  "x-oss-date:20231216T172512Z\nx-oss-head1:value\nzabc:value\n\nabc;zabc\n"
	  "UNSIGNED-PAYLOAD",
	  V4_CQUERY, "16b86004ed2cc3406dd7a13081bd940ef6a5ad49e508da2d4fdf84e8a5dd2145",
	  "abc;zabc", "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f" },
	{ "TestV4AuthHeader additional {x-oss-no-exist, ZAbc, x-oss-head1, abc}",
	  { "PUT", "bucket", V4_KEY, NULL, V4_QUERY,
	    { { "x-oss-head1", "value" }, { "abc", "value" }, { "ZAbc", "value" },
	      { "XYZ", "value" }, { "content-type", "text/plain" },
	      { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231216T172512Z" } } },
	  "20231216T172512Z", addl_b, 4, NULL, NULL,
	  "16b86004ed2cc3406dd7a13081bd940ef6a5ad49e508da2d4fdf84e8a5dd2145",
	  "abc;zabc", "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f" },
	{ "TestV4AuthHeader STS",
	  { "PUT", "bucket", V4_KEY, NULL, V4_QUERY,
	    { { "x-oss-head1", "value" }, { "abc", "value" }, { "ZAbc", "value" },
	      { "XYZ", "value" }, { "content-type", "text/plain" },
	      { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231217T034736Z" }, { "x-oss-security-token", "token" } } },
	  "20231217T034736Z", NULL, 0,
	  "PUT\n/bucket/1234%2B-/123/1.txt\n" V4_CQUERY "\n"
	  "content-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n"
	  "x-oss-date:20231217T034736Z\nx-oss-head1:value\nx-oss-security-token:token\n\n\n"
	  "UNSIGNED-PAYLOAD",
	  V4_CQUERY, NULL, "",
	  "b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea" },
	{ "TestV4AuthQuery (presigned)",
	  { "PUT", "bucket", V4_KEY, NULL,
	    { { "param1", "value1" }, { "+param1", "value3" }, { "|param1", "value4" },
	      { "+param2", "" }, { "|param2", "" }, { "param2", "" },
	      { "x-oss-signature-version", "OSS4-HMAC-SHA256" },
	      { "x-oss-date", "20231217T025437Z" }, { "x-oss-expires", "599" },
	      { "x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request" } },
	    { { "x-oss-head1", "value" }, { "abc", "value" }, { "ZAbc", "value" },
	      { "XYZ", "value" }, { "content-type", "application/octet-stream" } } },
	  "20231217T025437Z", NULL, 0, NULL,
	  V4_CQUERY "&x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
	  "&x-oss-date=20231217T025437Z&x-oss-expires=599"
	  "&x-oss-signature-version=OSS4-HMAC-SHA256",
	  NULL, "", "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe" },
	{ "UploadPart",
	  { "PUT", "examplebucket", "dir/multipart.data", NULL,
	    { { "partNumber", "1" }, { "uploadId", "0004B9895DBBB6EC9" } },
	    { { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231216T162057Z" } } },
	  "20231216T162057Z", NULL, 0,
	  "PUT\n/examplebucket/dir/multipart.data\npartNumber=1&uploadId=0004B9895DBBB6EC9\n"
	  "x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\n\n\n"
	  "UNSIGNED-PAYLOAD",
	  "partNumber=1&uploadId=0004B9895DBBB6EC9",
	  "83a96c5559e99ac15fcf6bc07515dcc5e37bca53d620671f54d903635546ec1d", "",
	  "a70d863ef71dfbeba59637b46a2dbd46167ef60de3e20e95da9b3940c37ddd8a" },
	{ "InitiateMultipartUpload",
	  { "POST", "examplebucket", "dir/multipart.data", NULL,
	    { { "encoding-type", "url" }, { "uploads", NULL } },
	    { { "Content-Type", "application/octet-stream" },
	      { "Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg==" },
	      { "x-oss-content-sha256", "UNSIGNED-PAYLOAD" },
	      { "x-oss-date", "20231216T162057Z" } } },
	  "20231216T162057Z", NULL, 0,
	  "POST\n/examplebucket/dir/multipart.data\nencoding-type=url&uploads\n"
	  "content-md5:1B2M2Y8AsgTpgAmY7PhCfg==\ncontent-type:application/octet-stream\n"
	  "x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231216T162057Z\n\n\n"
	  "UNSIGNED-PAYLOAD",
	  "encoding-type=url&uploads",
	  "9c1b532f8d3e8002f947d866ad4ab738e070efe930745ecc504e7171e4eda21f", "",
	  "50a09c1c24857879c0744c7a47346555487a9373457ef7725644961bc33a5f5c" },
};

/* The third line of a canonical request. */
static void canonical_query_line(char *out, size_t outlen, const char *cr)
{
	const char *a = strchr(cr, '\n'), *b, *c;

	assert_non_null(a);
	b = strchr(a + 1, '\n');
	assert_non_null(b);
	c = strchr(b + 1, '\n');
	assert_non_null(c);
	assert_true((size_t)(c - b - 1) < outlen);
	memcpy(out, b + 1, (size_t)(c - b - 1));
	out[c - b - 1] = '\0';
}

static void test_v4_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(v4_vectors) / sizeof(v4_vectors[0]); i++) {
		struct sign_request r = to_sign(&v4_vectors[i].req);
		struct sign_v4_params p = {
			"sk", "cn-hangzhou", NULL, v4_vectors[i].datetime,
			v4_vectors[i].addl, v4_vectors[i].naddl, NULL,
		};
		char *cr = sign_oss_v4_canonical_request(&r, &p);
		char *sts = sign_oss_v4_string_to_sign(&r, &p);
		char *addl = sign_oss_v4_additional(&r, &p);
		char sig[65], want_sts[256], cq[512], date[9];

		assert_non_null(cr);
		assert_non_null(sts);
		assert_non_null(addl);
		if (v4_vectors[i].canonical) {
			check_str(v4_vectors[i].what, cr, v4_vectors[i].canonical);
		}
		if (v4_vectors[i].cquery) {
			canonical_query_line(cq, sizeof(cq), cr);
			check_str(v4_vectors[i].what, cq, v4_vectors[i].cquery);
		}
		memcpy(date, v4_vectors[i].datetime, 8);
		date[8] = '\0';
		if (v4_vectors[i].sts_hash) {
			snprintf(want_sts, sizeof(want_sts),
				 "OSS4-HMAC-SHA256\n%s\n%s/cn-hangzhou/oss/aliyun_v4_request\n%s",
				 v4_vectors[i].datetime, date, v4_vectors[i].sts_hash);
			check_str(v4_vectors[i].what, sts, want_sts);
		}
		check_str(v4_vectors[i].what, addl, v4_vectors[i].additional);
		assert_int_equal(sign_oss_v4(sig, &r, &p), 0);
		check_str(v4_vectors[i].what, sig, v4_vectors[i].sig);
		free(cr);
		free(sts);
		free(addl);
	}
}

/* Bucket-only and service requests, the explicit payload hash, and the
 * x-oss-content-sha256 header taking the place of a NULL payload_hash. */
static void test_v4_shapes(void **state)
{
	struct req q = { "GET", "b", NULL, NULL, { { "uploads", NULL } },
			 { { "x-oss-content-sha256", " abc " }, { "X-Oss-Meta-K", "a" },
			   { "x-oss-meta-k", " b" } } };
	struct sign_request r = to_sign(&q);
	struct sign_v4_params p = { "sk", "cn-hangzhou", "oss-cloudbox", "20231216T162057Z",
				    NULL, 0, NULL };
	char *cr = sign_oss_v4_canonical_request(&r, &p), *sts;

	(void)state;
	assert_string_equal(cr, "GET\n/b/\nuploads\nx-oss-content-sha256:abc\n"
				"x-oss-meta-k:a,b\n\n\nabc");
	free(cr);
	p.payload_hash = "0123";
	cr = sign_oss_v4_canonical_request(&r, &p);
	assert_string_equal(cr + strlen(cr) - 5, "\n0123");
	free(cr);
	sts = sign_oss_v4_string_to_sign(&r, &p);
	assert_non_null(strstr(sts, "\n20231216/cn-hangzhou/oss-cloudbox/aliyun_v4_request\n"));
	free(sts);

	q.bucket = "";
	memset(q.headers, 0, sizeof(q.headers));
	r = to_sign(&q);
	p.payload_hash = NULL;
	cr = sign_oss_v4_canonical_request(&r, &p);
	assert_string_equal(cr, "GET\n/\nuploads\n\n\nUNSIGNED-PAYLOAD");
	free(cr);
}

/* ---- AWS SigV4 -------------------------------------------------------------- */

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AWS_HOST "examplebucket.s3.amazonaws.com"

/* AWS S3 "Signature Calculations for the Authorization Header" examples:
 * AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY,
 * 20130524T000000Z, us-east-1, s3. */
static const struct {
	const char *what;
	struct req req;
	const char *signed_headers;
	const char *payload;
	const char *canonical;
	const char *sig;
} aws_vectors[] = {
	{ "GET Object",
	  { "GET", "examplebucket", "test.txt", "/test.txt", { { NULL, NULL } },
	    { { "Host", AWS_HOST }, { "Range", "bytes=0-9" },
	      { "x-amz-content-sha256", EMPTY_SHA }, { "x-amz-date", "20130524T000000Z" } } },
	  "host;range;x-amz-content-sha256;x-amz-date", EMPTY_SHA,
	  "GET\n/test.txt\n\nhost:" AWS_HOST "\nrange:bytes=0-9\n"
	  "x-amz-content-sha256:" EMPTY_SHA "\nx-amz-date:20130524T000000Z\n\n"
	  "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
	  "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41" },
	{ "PUT Object",
	  { "PUT", "examplebucket", "test$file.text", "/test$file.text", { { NULL, NULL } },
	    { { "Host", AWS_HOST }, { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
	      { "x-amz-date", "20130524T000000Z" },
	      { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
	      { "x-amz-content-sha256",
		"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072" } } },
	  "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
	  "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	  "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:" AWS_HOST "\n"
	  "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
	  "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
	  "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
	  "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	  "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd" },
	{ "GET Bucket Lifecycle",
	  { "GET", "examplebucket", NULL, "/", { { "lifecycle", NULL } },
	    { { "Host", AWS_HOST }, { "x-amz-date", "20130524T000000Z" },
	      { "x-amz-content-sha256", EMPTY_SHA } } },
	  "host;x-amz-content-sha256;x-amz-date", EMPTY_SHA,
	  "GET\n/\nlifecycle=\nhost:" AWS_HOST "\nx-amz-content-sha256:" EMPTY_SHA "\n"
	  "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
	  "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543" },
	{ "Get Bucket (List Objects)",
	  { "GET", "examplebucket", NULL, "/", { { "prefix", "J" }, { "max-keys", "2" } },
	    { { "Host", AWS_HOST }, { "x-amz-date", "20130524T000000Z" },
	      { "x-amz-content-sha256", EMPTY_SHA } } },
	  "host;x-amz-content-sha256;x-amz-date", EMPTY_SHA,
	  "GET\n/\nmax-keys=2&prefix=J\nhost:" AWS_HOST "\nx-amz-content-sha256:" EMPTY_SHA "\n"
	  "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA,
	  "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7" },
};

static void test_aws_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(aws_vectors) / sizeof(aws_vectors[0]); i++) {
		struct sign_request r = to_sign(&aws_vectors[i].req);
		struct sign_aws_params p = {
			"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", NULL,
			"20130524T000000Z", aws_vectors[i].signed_headers,
			aws_vectors[i].payload, 0,
		};
		char *cr = sign_aws_canonical_request(&r, &p);
		char *sts = sign_aws_string_to_sign(&r, &p);
		char sig[65], hash[65], want[256];

		check_str(aws_vectors[i].what, cr, aws_vectors[i].canonical);
		sign_sha256_hex(hash, cr, strlen(cr));
		snprintf(want, sizeof(want),
			 "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n%s",
			 hash);
		check_str(aws_vectors[i].what, sts, want);
		assert_int_equal(sign_aws_v4(sig, &r, &p), 0);
		check_str(aws_vectors[i].what, sig, aws_vectors[i].sig);

		/* NULL signed_headers = every header, NULL payload = the
		 * x-amz-content-sha256 header: the same signature here,
		 * since each example signs all of its headers. */
		p.signed_headers = NULL;
		p.payload_hash = NULL;
		assert_int_equal(sign_aws_v4(sig, &r, &p), 0);
		check_str(aws_vectors[i].what, sig, aws_vectors[i].sig);
		free(cr);
		free(sts);
	}
}

/* trimall, repeated headers, unsigned headers, value sorting, double encode */
static void test_aws_canonical_details(void **state)
{
	struct req q = {
		"GET", NULL, NULL, "/a b/ü$",
		{ { "b", "2" }, { "a", "z z" }, { "a", "y" }, { "c", NULL } },
		{ { "My-Header1", "  a   b \t c  " }, { "my-header1", "value4" },
		  { "Host", "h" }, { "X-Not-Signed", "x" } },
	};
	struct sign_request r = to_sign(&q);
	struct sign_aws_params p = { "s", "r", "svc", "20150830T123600Z",
				     "host;my-header1", "UNSIGNED-PAYLOAD", 0 };
	char *cr = sign_aws_canonical_request(&r, &p), *sh;

	(void)state;
	assert_string_equal(cr, "GET\n/a%20b/%C3%BC%24\na=y&a=z%20z&b=2&c=\n"
				"host:h\nmy-header1:a b c,value4\n\nhost;my-header1\n"
				"UNSIGNED-PAYLOAD");
	free(cr);
	p.double_encode_path = 1;
	cr = sign_aws_canonical_request(&r, &p);
	assert_non_null(strstr(cr, "\n/a%2520b/%25C3%25BC%2524\n"));
	free(cr);
	sh = sign_aws_signed_headers(&r);
	assert_string_equal(sh, "host;my-header1;x-not-signed");
	free(sh);
	q.path = NULL;
	r = to_sign(&q);
	p.double_encode_path = 0;
	cr = sign_aws_canonical_request(&r, &p);
	assert_memory_equal(cr, "GET\n/\n", 6);
	free(cr);
}

/* ---- helpers ---------------------------------------------------------------- */

static void test_uri_encode(void **state)
{
	static const struct {
		const char *in;
		int keep_slash;
		const char *out;
	} v[] = {
		{ "", 0, "" },
		{ "AZaz09-_.~", 0, "AZaz09-_.~" },
		{ "a b+c", 0, "a%20b%2Bc" },
		{ "/bucket/1234+-/123/1.txt", 1, "/bucket/1234%2B-/123/1.txt" },
		{ "a/b", 0, "a%2Fb" },
		{ "%*'()!", 1, "%25%2A%27%28%29%21" },
		{ "\xe4\xb8\xad", 0, "%E4%B8%AD" },
		{ "\x01\x7f\xff", 0, "%01%7F%FF" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *s = sign_uri_encode(v[i].in, v[i].keep_slash);

		assert_non_null(s);
		assert_string_equal(s, v[i].out);
		free(s);
	}
}

static void test_equal_sha(void **state)
{
	char h[65];

	(void)state;
	assert_true(sign_equal_ct("abc", "abc"));
	assert_true(sign_equal_ct("", ""));
	assert_false(sign_equal_ct("abc", "abd"));
	assert_false(sign_equal_ct("abc", "ab"));
	assert_false(sign_equal_ct("", "a"));
	sign_sha256_hex(h, "", 0);
	assert_string_equal(h, EMPTY_SHA);
	sign_sha256_hex(h, "abc", 3);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_time(void **state)
{
	static const struct {
		int64_t t;
		const char *iso, *rfc;
	} ok[] = {
		{ 1702743657, "20231216T162057Z", "Sat, 16 Dec 2023 16:20:57 GMT" },
		{ 1672223261, "20221228T102741Z", "Wed, 28 Dec 2022 10:27:41 GMT" },
		{ 1369353600, "20130524T000000Z", "Fri, 24 May 2013 00:00:00 GMT" },
		{ 0, "19700101T000000Z", "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 951782400, "20000229T000000Z", "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 4102444799, "20991231T235959Z", "Thu, 31 Dec 2099 23:59:59 GMT" },
		{ -62167219200LL, "00000101T000000Z", "Sat, 01 Jan 0000 00:00:00 GMT" },
		{ 253402300799LL, "99991231T235959Z", "Fri, 31 Dec 9999 23:59:59 GMT" },
	};
	static const char *const bad_iso[] = {
		"", "20231216T162057", "20231216T162057ZZ", "20231216 162057Z",
		"2023121GT162057Z", "20230230T000000Z", "20231316T000000Z", "20231216T246000Z",
		"20231216T236000Z", "20231200T000000Z", "-0231216T162057Z",
	};
	static const char *const bad_rfc[] = {
		"", "Sat, 16 Dec 2023 16:20:57", "Sat, 16 Dec 2023 16:20:57 UTC",
		"Sun, 16 Dec 2023 16:20:57 GMT", "Sat, 16 Dex 2023 16:20:57 GMT",
		"Sat 16 Dec 2023 16:20:57 GMT ", "Sat, 6 Dec 2023 16:20:57 GMT",
		"Fri, 30 Feb 2024 00:00:00 GMT", "Sat, 16 Dec 2023 16:20:60 GMT",
		"sat, 16 Dec 2023 16:20:57 GMT", "Sat, 16 Dec 2023 16-20-57 GMT",
	};
	char iso[17], rfc[30];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		sign_format_iso8601(iso, ok[i].t);
		assert_string_equal(iso, ok[i].iso);
		sign_format_rfc1123(rfc, ok[i].t);
		assert_string_equal(rfc, ok[i].rfc);
		assert_int_equal(sign_parse_iso8601(ok[i].iso, &t), 0);
		assert_int_equal(t, ok[i].t);
		assert_int_equal(sign_parse_rfc1123(ok[i].rfc, &t), 0);
		assert_int_equal(t, ok[i].t);
	}
	for (size_t i = 0; i < sizeof(bad_iso) / sizeof(bad_iso[0]); i++) {
		assert_int_equal(sign_parse_iso8601(bad_iso[i], &t), -1);
	}
	for (size_t i = 0; i < sizeof(bad_rfc) / sizeof(bad_rfc[0]); i++) {
		assert_int_equal(sign_parse_rfc1123(bad_rfc[i], &t), -1);
	}
	/* beyond four-digit years there is no text form */
	sign_format_iso8601(iso, 253402300800LL);
	assert_string_equal(iso, "");
	sign_format_rfc1123(rfc, 253402300800LL);
	assert_string_equal(rfc, "");
	assert_int_equal(sign_parse_iso8601(NULL, &t), -1);
	assert_int_equal(sign_parse_rfc1123(NULL, &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_vectors),
		cmocka_unit_test(test_v1_canonical_headers),
		cmocka_unit_test(test_v4_vectors),
		cmocka_unit_test(test_v4_shapes),
		cmocka_unit_test(test_aws_vectors),
		cmocka_unit_test(test_aws_canonical_details),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_equal_sha),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
