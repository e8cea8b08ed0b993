/*
 * fuzz_headers.c - libFuzzer target for what the engine makes of a
 * response's status and headers: the values engine/request.c captures
 * (ETag, request id, Date, Retry-After, x-oss-qos-delay-time,
 * x-oss-hash-crc64ecma, Content-Length, and the base64 Error document of
 * x-oss-err) and the functions that then interpret them: parse_u64, the
 * ETag helpers of dialect.c, retry_server_delay_ms, sign_parse_rfc1123 (the
 * clock-skew correction), base64_decode + response_parse_error, and
 * dialect_classify on the server's error code; on S3, dl_parts_judge on
 * x-amz-mp-parts-count, Content-Length and Content-Range as the answer to
 * a download's HEAD ?partNumber=1.
 *
 * HTTP itself is parsed by libcurl, which hands request.c one trimmed value
 * per header name (curl_easy_header).  request.c's capture() reads them
 * through request_capture_headers() and a lookup function; this target
 * calls that same function with a lookup over a small header table parsed
 * from the input, so the engine's own capture code is what runs.
 *
 * Input: a raw response head, "HTTP/1.1 503 Slow Down" then "Name: value"
 * lines (CRLF or LF), an empty line, then the body.  Each input is captured
 * once as OSS and once as S3 (the dialects name the headers differently).
 *
 * Checked beyond "no crash, no leak, no UB": parse_u64 accepts exactly the
 * non-empty digit strings that fit in 64 bits, with their value; the
 * server delay never exceeds its cap and honours either hint up to it; a
 * Date that parses is within the RFC 1123 range and the skew arithmetic
 * cannot overflow; etag_equal is reflexive on non-empty ETags and
 * symmetric, and an ETag that yields an MD5 matches that MD5; an Error
 * document's strings are NUL-terminated and bounded; a 2xx is never
 * classified as an error and a classification is a known status; a
 * by-part plan is only made of a parts count equal to the ETag's and a
 * part 1 length whose N copies, but not N-1, cover the object.
 */
// fuzz-sources: @engine
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checksum.h"
#include "dialect.h"
#include "download_parts.h"
#include "hoist.h"
#include "request.h"
#include "response.h"
#include "retry.h"
#include "sign.h"

#define MAX_HEADERS 64

/* A broken promise: say which one, then abort (the fuzzer saves the input). */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* ---- the curl stand-in: status and first value per name ------------------- */

struct head {
	long http;
	char *names[MAX_HEADERS];
	char *values[MAX_HEADERS];
	size_t n;
	const char *body;
	size_t body_len;
};

static int is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits copy (NUL-terminated, modified) into status, headers and body. */
static void head_parse(struct head *h, char *copy, size_t len)
{
	char *p = copy, *end = copy + len;
	int first = 1;

	memset(h, 0, sizeof(*h));
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line = p, *colon, *v, *ve;

		if (!nl) {
			nl = end;
		}
		p = nl < end ? nl + 1 : end;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r') {
			nl[-1] = '\0';
		}
		if (first) {
			/* "HTTP/1.1 200 OK": three digits after the first space. */
			char *sp = strchr(line, ' ');

			first = 0;
			if (strncmp(line, "HTTP/", 5) == 0 && sp && sp[1] >= '1' && sp[1] <= '9' &&
			    sp[2] >= '0' && sp[2] <= '9' && sp[3] >= '0' && sp[3] <= '9' &&
			    (sp[4] == '\0' || sp[4] == ' ')) {
				h->http = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
			}
			continue;
		}
		if (*line == '\0')
			break; /* end of the head */
		colon = strchr(line, ':');
		if (!colon || colon == line || h->n == MAX_HEADERS)
			continue;
		*colon = '\0';
		for (v = colon + 1; is_ws(*v); v++) {
		}
		for (ve = v + strlen(v); ve > v && is_ws(ve[-1]); ve--) {
		}
		*ve = '\0';
		h->names[h->n] = line;
		h->values[h->n] = v;
		h->n++;
	}
	h->body = p;
	h->body_len = (size_t)(end - p);
}

/* request_header_fn as curl_easy_header(name, index 0) answers it: the
 * first one, names case-blind. */
static char *head_get(void *ud, const char *name)
{
	const struct head *h = ud;

	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->names[i], name) == 0) {
			char *c = strdup(h->values[i]);

			check(c != NULL);
			return c;
		}
	}
	return NULL;
}

/* ---- properties of the interpreting functions ---------------------------- */

/* Reference decimal parser: digits only, non-empty, fits. */
static int ref_u64(const char *s, uint64_t *out)
{
	unsigned __int128 v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > UINT64_MAX)
			return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

static void check_u64(const char *s)
{
	uint64_t a = 0, b = 0, c = 0;
	int ra, rb;
	char dec[21];

	if (!s)
		return;
	ra = parse_u64(s, &a);
	rb = ref_u64(s, &b);
	check(ra == rb);
	if (ra == 0) {
		check(a == b);
		crc64_to_dec(dec, a);
		check(parse_u64(dec, &c) == 0 && c == a);
	}
}

static void check_delay(const struct request *r)
{
	static const unsigned caps[3] = { 0, 20000, UINT32_MAX };
	uint64_t v;

	for (int i = 0; i < 3; i++) {
		uint64_t d = retry_server_delay_ms(r->retry_after, r->qos_delay, caps[i]);

		check(d <= caps[i]);
		if (r->qos_delay && parse_u64(r->qos_delay, &v) == 0) {
			check(d >= (v < caps[i] ? v : caps[i]));
		}
		if (r->retry_after && parse_u64(r->retry_after, &v) == 0 && v < 86400) {
			check(d >= (v * 1000 < caps[i] ? v * 1000 : caps[i]));
		}
	}
}

static void check_date(const char *date)
{
	/* request_clock_skew: server - (sign_time - sign_offset), with the
	 * sign time near now and an offset already bounded by earlier skews. */
	const int64_t sign_time = 1700000000, sign_offset = -86400;
	int64_t server;

	if (!date || sign_parse_rfc1123(date, &server) < 0)
		return;
	/* Year 0000..9999 at most: far from overflowing the subtraction,
	 * and the offset is what the server's clock says minus ours. */
	check(server > -62200000000LL && server < 253403300800LL);
	check(server - (sign_time - sign_offset) + sign_time - sign_offset == server);
}

/* An ETag names something unless it is empty once a "W/" prefix and a
 * pair of surrounding quotes are taken off. */
static int has_content(const char *etag)
{
	size_t n;

	if (strncmp(etag, "W/", 2) == 0) {
		etag += 2;
	}
	n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		n -= 2;
	}
	return n > 0;
}

static void check_etag(const char *etag)
{
	uint8_t md5[16], other[16];

	if (!etag)
		return;
	check(etag_equal(etag, etag) == has_content(etag));
	if (etag_to_md5(md5, etag) == 0) {
		char hex[33], quoted[35];

		check(etag_equals_md5(etag, md5));
		check(etag_equal(etag, etag));
		check(!etag_is_multipart(etag));
		hex_encode(hex, md5, 16, 1);
		memcpy(quoted + 1, hex, 32);
		quoted[0] = '"';
		quoted[33] = '"';
		quoted[34] = '\0';
		/* The upper-case quoted form is the same ETag... */
		check(etag_equal(etag, quoted) && etag_equal(quoted, etag));
		/* ...and one flipped bit is not. */
		memcpy(other, md5, 16);
		other[0] ^= 1;
		check(!etag_equals_md5(etag, other));
	}
	/* Symmetry against the forms a server sends. */
	{
		static const char *const forms[] = {
			"\"5D41402ABC4B2A76B9719D911017C592\"",
			"5d41402abc4b2a76b9719d911017c592",
			"W/\"5d41402abc4b2a76b9719d911017c592\"",
			"\"B864DB6A936D376F9F8D3ED3BBE540DD-3\"",
			"",
		};

		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
			check(etag_equal(etag, forms[i]) == etag_equal(forms[i], etag));
		}
	}
	if (etag_is_multipart(etag)) {
		const char *dash = strrchr(etag, '-');

		check(dash != NULL && dash[1] >= '0' && dash[1] <= '9');
	}
}

static void check_err(const struct error_doc *e)
{
	const char *s[4] = { e->code, e->message, e->request_id, e->ec };

	for (int i = 0; i < 4; i++) {
		if (s[i]) {
			check(strlen(s[i]) <= 64 * 1024);
		}
	}
}

static void check_classify(const struct request *r, enum hoist_dialect d)
{
	hoist_status st;
	int retry = -1;

	dialect_classify(d, r->http, r->err.code, &st, &retry);
	check(retry == 0 || retry == 1);
	check((int)st >= 0 && st < HOIST_STATUS_COUNT_);
	if (r->http >= 200 && r->http < 300) {
		check(st == HOIST_OK && retry == 0);
	} else {
		check(st != HOIST_OK);
	}
}

/* The probe's verdict, for an object of a few sizes around what the
 * answer says (its Content-Range total, N times part 1). */
static void check_parts(const struct request *r)
{
	uint64_t count = 0, len = 0, sizes[3], p1;
	struct dl_parts_probe pr;
	const char *why;

	if (r->extra[0]) {
		(void)parse_u64(r->extra[0], &count);
	}
	if (r->content_length) {
		(void)parse_u64(r->content_length, &len);
	}
	sizes[0] = len * (count ? count : 1);
	sizes[1] = sizes[0] ? sizes[0] - 1 : 0;
	sizes[2] = 1 + (uint64_t)(r->http & 0xffff);
	for (int i = 0; i < 3; i++) {
		memset(&pr, 0, sizeof(pr));
		pr.etag_parts = count <= 10000 ? (unsigned)count : 1;
		pr.size = count <= 10000 && len <= (1ull << 40) ? sizes[i] : 1;
		pr.http = r->http;
		pr.parts_count = r->extra[0];
		pr.content_length = r->content_length;
		pr.content_range = r->content_range;
		p1 = dl_parts_judge(&pr, &why);

		check((p1 == 0) == (why != NULL));
		if (p1) {
			check(r->http == 200 || r->http == 206);
			check(count == pr.etag_parts && p1 == len && p1 <= pr.size);
			check(p1 * (count - 1) < pr.size && p1 * count >= pr.size);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum hoist_dialect dialects[2] = { HOIST_DIALECT_OSS, HOIST_DIALECT_S3 };
	struct head h;
	char *copy;

	if (size > 128 * 1024)
		return 0;
	copy = malloc(size + 1);
	check(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	head_parse(&h, copy, size);
	for (int i = 0; i < 2; i++) {
		struct request *r = request_new(NULL, "Fuzz", "PUT", NULL, NULL);

		check(r != NULL);
		r->http = h.http;
		/* The S3 side also keeps an additional-checksum header, as an
		 * UploadPart with checksum=crc32c does. */
		if (dialects[i] == HOIST_DIALECT_S3) {
			r->echo_header = "x-amz-checksum-crc32c";
			r->extra_headers[0] = "x-amz-mp-parts-count";
		}
		if (h.body_len) {
			check(buf_append(&r->body, h.body, h.body_len) == 0);
		}
		request_capture_headers(r, dialects[i], head_get, &h);
		check_u64(r->content_length);
		check_u64(r->retry_after);
		check_u64(r->qos_delay);
		check_delay(r);
		check_date(r->date);
		check_etag(r->etag);
		check_err(&r->err);
		if (r->http > 0) {
			check_classify(r, dialects[i]);
		} else {
			check(!r->etag && !r->request_id && !r->date && !r->err.code);
		}
		if (dialects[i] == HOIST_DIALECT_S3) {
			check(!r->resp_crc_valid && !r->qos_delay);
			check_parts(r);
		} else {
			check(!r->echo);
		}
		request_free(r);
	}
	free(copy);
	return 0;
}
