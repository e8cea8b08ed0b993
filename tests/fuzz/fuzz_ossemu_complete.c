/*
 * fuzz_ossemu_complete.c - libFuzzer target for the one request body
 * ossemu parses: the CompleteMultipartUpload XML (bench/ossemu/multipart.c
 * op_complete_finish: its xml.h callback, then the part selection and
 * checks of store_upload.c, then the result document or the error
 * document of reply.c / errors.c).
 *
 * The body parser is a static callback inside op_complete_finish, so the
 * target drives the whole operation on a real store in --discard mode: for
 * each input, and for each dialect, it initiates an upload of key "k" in
 * bucket "bkt", records parts 1, 2 and 5 (200 KiB, 150 KiB and 1000
 * bytes, known MD5s and CRCs), hands the input to op_complete_finish as
 * the request body, and checks the reply; then it aborts the upload or
 * deletes the object, so every execution starts from the same store.
 * main.c's op_name / ossemu_now are copied here (main.c has main); the
 * request lookups come from route.c.
 *
 * Input: the body, as the client sends it.
 *
 * Checked beyond "no crash, no leak, no UB", against the rules of
 * oss-protocol.md §4.1 applied to the body read by a separate xml_parse
 * pass: a Complete succeeds exactly when the body lists at least one part,
 * numbers strictly ascending within 1..10000, each one recorded with a
 * matching ETag (quotes and case aside), and every listed part but the
 * last reaches the dialect's minimum size; a success answers 200 with a
 * CompleteMultipartUploadResult whose ETag is "<32 hex>-N" for N listed
 * parts, and an x-oss-hash-crc64ecma that is the combined CRC of exactly
 * those parts; a failure is a 400 with one of the documented codes.
 */
// fuzz-sources: bench/ossemu/multipart.c bench/ossemu/object.c bench/ossemu/reply.c
// fuzz-sources: bench/ossemu/stats.c bench/ossemu/callback.c bench/ossemu/body.c
// fuzz-sources: bench/ossemu/amzsum.c bench/ossemu/auth.c bench/ossemu/store.c
// fuzz-sources: bench/ossemu/store_upload.c bench/ossemu/errors.c bench/ossemu/map.c
// fuzz-sources: bench/ossemu/persist.c bench/ossemu/recover.c bench/ossemu/objopt.c bench/ossemu/kv.c
// fuzz-sources: bench/ossemu/keyindex.c bench/ossemu/store_list.c
// fuzz-sources: bench/ossemu/route.c bench/ossemu/keys.c bench/ossemu/delete.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "checksum.h"
#include "req.h"
#include "store.h"
#include "xml.h"

#define NPARTS 3

/* A broken promise: say which one, then abort (the fuzzer saves the input). */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* ---- copies of main.c's small functions ---------------------------------- */

static const char *const op_names[OP_COUNT] = {
#define OSSEMU_OP_NAME(id, name) [id] = name,
	OSSEMU_OPS(OSSEMU_OP_NAME)
#undef OSSEMU_OP_NAME
};

const char *op_name(enum op op)
{
	return (unsigned)op < OP_COUNT ? op_names[op] : "unknown";
}

int64_t ossemu_now(const struct ossemu *s)
{
	(void)s;
	return 1702743657;
}

/* ---- the server and its parts ------------------------------------------------ */

static char bucket_name[] = "bkt";
static char *buckets[1] = { bucket_name };
static struct ossemu_config cfg;
static struct ossemu srv;

static const struct part_info parts[NPARTS] = {
	{ 1, 200 * 1024, { 0xcf, 0x3f, 0x46, 0xd5, 0x05, 0x09, 0x35, 0x71,
			   0xe9, 0x16, 0xfc, 0xdd, 0x49, 0x67, 0x12, 0x34 }, 12066172435287683848ULL, 0, 0, 0 },
	{ 2, 150 * 1024, { 0x33, 0x49, 0xdc, 0x70, 0x01, 0x40, 0xd7, 0xf8,
			   0x6a, 0x07, 0x84, 0x84, 0x27, 0x80, 0xab, 0xcd }, 6571598172666981661ULL, 0, 0, 0 },
	{ 5, 1000, { 0x0f, 0x34, 0x3b, 0x09, 0x31, 0x12, 0x6a, 0x20,
		     0xf1, 0x33, 0xd6, 0x7c, 0x2b, 0x01, 0x8a, 0x3b }, 42, 0, 0, 0 },
};

static void server_init(void)
{
	char err[256];

	if (srv.store)
		return;
	memset(&cfg, 0, sizeof(cfg));
	cfg.host = "127.0.0.1";
	cfg.buckets = buckets;
	cfg.nbuckets = 1;
	cfg.discard = 1;
	srv.cfg = &cfg;
	srv.store = store_open(&cfg, err, sizeof(err));
	check(srv.store != NULL);
	srv.stats = stats_new();
	check(srv.stats != NULL);
}

/* ---- the reference reading of the body ----------------------------------------- */

struct ref_part {
	uint64_t num;
	char *etag;
};

struct ref {
	struct ref_part v[64];
	size_t n;
	int overflow;     /* more parts than v holds: no verdict */
	int malformed;    /* a Part without a PartNumber or ETag, or a bad number */
	int root_ok;
	int in_part, has_num, has_etag;
	uint64_t num;
	char *etag;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ref_cb(void *ud, enum xml_event ev, const char *path, const char *name,
		  const char *text, size_t len)
{
	struct ref *r = ud;

	(void)name;
	if (ev == XML_EV_START) {
		if (strcmp(path, "CompleteMultipartUpload") == 0) {
			r->root_ok = 1;
		}
		if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
			r->in_part = 1;
			r->has_num = r->has_etag = 0;
			free(r->etag);
			r->etag = NULL;
		}
		return 0;
	}
	if (strcmp(path, "CompleteMultipartUpload/Part/PartNumber") == 0) {
		char tmp[32];

		/* Decimal, whitespace around it allowed. */
		while (len && is_space(*text)) {
			text++;
			len--;
		}
		while (len && is_space(text[len - 1])) {
			len--;
		}
		if (len == 0 || len >= sizeof(tmp)) {
			r->malformed = 1;
			return 0;
		}
		memcpy(tmp, text, len);
		tmp[len] = '\0';
		if (parse_u64(tmp, &r->num) < 0 || r->num > 0xFFFFFFFFu) {
			r->malformed = 1;
		}
		r->has_num = 1;
	} else if (strcmp(path, "CompleteMultipartUpload/Part/ETag") == 0) {
		free(r->etag);
		r->etag = strndup(text, len);
		check(r->etag != NULL);
		r->has_etag = 1;
	} else if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
		if (!r->has_num || !r->has_etag) {
			r->malformed = 1;
		} else if (r->n == sizeof(r->v) / sizeof(r->v[0])) {
			r->overflow = 1;
		} else {
			r->v[r->n].num = r->num;
			r->v[r->n].etag = r->etag;
			r->etag = NULL;
			r->n++;
		}
		r->in_part = 0;
	}
	return 0;
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].etag);
	}
	free(r->etag);
}

/* The ETag a client sends for a part: its MD5 in hex, quotes optional,
 * case free, blanks around it tolerated. */
static int ref_etag_matches(const char *given, const struct part_info *pi)
{
	char want[33];
	size_t n;

	while (is_space(*given)) {
		given++;
	}
	if (*given == '"') {
		given++;
	}
	n = strlen(given);
	while (n && is_space(given[n - 1])) {
		n--;
	}
	if (n && given[n - 1] == '"') {
		n--;
	}
	hex_encode(want, pi->md5, 16, 0);
	return n == 32 && strncasecmp(given, want, 32) == 0;
}

static const struct part_info *find_part(uint64_t num)
{
	for (int i = 0; i < NPARTS; i++) {
		if (parts[i].num == num)
			return &parts[i];
	}
	return NULL;
}

/* 1: the Complete must succeed (*crc, *size of the object); 0: it must
 * fail; -1: no verdict (not a well-formed CompleteMultipartUpload). */
static int ref_verdict(const struct ref *r, enum dialect d, uint64_t *crc, uint64_t *size)
{
	uint64_t min = d == DIALECT_S3 ? S3_MIN_PART_SIZE : OSS_MIN_PART_SIZE;

	*crc = 0;
	*size = 0;
	if (r->overflow)
		return -1;
	if (r->malformed || r->n == 0)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		const struct part_info *p = find_part(r->v[i].num);

		if (r->v[i].num < 1 || r->v[i].num > 10000 || !p ||
		    !ref_etag_matches(r->v[i].etag, p))
			return 0;
		if (i > 0 && r->v[i].num <= r->v[i - 1].num)
			return 0;
		if (i + 1 < r->n && p->size < min)
			return 0;
		*crc = crc64_ecma_combine(*crc, p->crc64, p->size);
		*size += p->size;
	}
	return 1;
}

/* ---- one Complete ------------------------------------------------------------------ */

static void complete_once(const uint8_t *data, size_t size, enum dialect d, const struct ref *r)
{
	struct req rq;
	struct obj_info o;
	char id[33];
	uint64_t want_crc, want_size, got;
	int verdict, fd;
	enum err_id e;

	check(store_upload_create(srv.store, "bkt", "k", NULL, NULL, 0, id) == E_OK);
	for (int i = 0; i < NPARTS; i++) {
		check(store_part_put(srv.store, "bkt", "k", id, &parts[i], NULL) == E_OK);
	}
	memset(&rq, 0, sizeof(rq));
	rq.srv = &srv;
	snprintf(rq.id, sizeof(rq.id), "0123456789ABCDEF01234567");
	rq.op = OP_COMPLETE;
	rq.dialect = d;
	rq.method = "POST";
	rq.path = "/bkt/k";
	rq.host = "127.0.0.1:9000";
	rq.bucket = bucket_name;
	rq.key = (char *)"k";
	rq.upload_id = id;
	rq.sink.fd = -1;
	rq.mode = BODY_ACCUM;
	reply_init(&rq.reply);
	check(buf_append(&rq.body, data, size) == 0);

	op_complete_finish(&rq);

	verdict = ref_verdict(r, d, &want_crc, &want_size);
	if (rq.reply.status == 200) {
		const char *crc = hdrs_get(&rq.reply.headers, "x-oss-hash-crc64ecma");
		const char *etag = hdrs_get(&rq.reply.headers, "ETag");
		char suffix[16];
		size_t el;

		check(verdict != 0);
		check(rq.reply.body.data &&
		      strstr(rq.reply.body.data, "<CompleteMultipartUploadResult") != NULL);
		check(etag != NULL);
		el = strlen(etag);
		check(el >= 36 && etag[0] == '"' && etag[33] == '-' && etag[el - 1] == '"');
		if (verdict == 1) {
			snprintf(suffix, sizeof(suffix), "-%zu\"", r->n);
			check(strcmp(etag + 33, suffix) == 0);
			check(crc && parse_u64(crc, &got) == 0 && got == want_crc);
			memset(&o, 0, sizeof(o));
			check(store_object_open(srv.store, "bkt", "k", &o, &fd) == E_OK && fd < 0);
			check(o.size == want_size && o.nparts == r->n && o.crc64 == want_crc);
			obj_info_cleanup(&o);
		}
		check(store_object_delete(srv.store, "bkt", "k") == E_OK);
	} else {
		check(verdict != 1);
		e = rq.reply.err;
		check(rq.reply.status == 400);
		check(e == E_MALFORMED_XML || e == E_INVALID_PART || e == E_INVALID_PART_ORDER ||
		      e == E_ENTITY_TOO_SMALL);
		check(rq.reply.body.data && strstr(rq.reply.body.data, "<Error>") != NULL);
		/* The upload is still there for a corrected Complete. */
		check(store_upload_check(srv.store, "bkt", "k", id) == E_OK);
		check(store_upload_abort(srv.store, "bkt", "k", id) == E_OK);
	}
	reply_cleanup(&rq.reply);
	buf_free(&rq.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ref r;

	if (size > 64 * 1024)
		return 0;
	server_init();
	memset(&r, 0, sizeof(r));
	/* Empty, not well-formed, or not a CompleteMultipartUpload document:
	 * MalformedXML. */
	if (size == 0 || xml_parse((const char *)data, size, ref_cb, &r, NULL, 0) != 0 ||
	    !r.root_ok) {
		r.malformed = 1;
	}
	complete_once(data, size, DIALECT_OSS, &r);
	complete_once(data, size, DIALECT_S3, &r);
	ref_free(&r);
	return 0;
}
