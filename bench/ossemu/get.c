/*
 * get.c - GetObject and HeadObject: conditions, ranges, parts, archived
 * and SSE-C objects, and the headers of a stored object.
 *
 * Owns: the rules of docs/oss-get-list-delete.md §1-§2 as ossemu applies
 * them.
 *  - Conditions (If-Match, If-None-Match, If-Modified-Since,
 *    If-Unmodified-Since) are evaluated in RFC 7232 §6 order, which is
 *    also what S3 documents for the combinations: If-Match, else
 *    If-Unmodified-Since (412 PreconditionFailed); then If-None-Match, else
 *    If-Modified-Since (304 Not Modified, no body).  A date that does not
 *    parse is ignored, as OSS documents for If-Modified-Since.
 *  - Range: OSS by default ignores a range it cannot serve whole (start or
 *    end past the object, a suffix longer than it, bad syntax) and answers
 *    200 with everything; with x-oss-range-behavior: standard, and always
 *    in the S3 dialect, it is RFC 7233: the end is clamped, a start past the
 *    end is 416 InvalidRange with Content-Range: bytes * /SIZE.  Several
 *    ranges: OSS serves the first (its Range document); S3 serves none
 *    (200, the whole object), as it supports one range only.
 *  - x-oss-hash-crc64ecma is always the whole object's CRC, ranged or not.
 *  - Objects in an archive class answer GET with 403 InvalidObjectState
 *    (no RestoreObject here), HEAD normally.
 *
 * The body itself is the store's open file, sent by http.c (sendfile, or
 * send.c when paced or faulted).
 *
 * Threading: each function runs on the thread that owns the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "req.h"
#include "sign.h"

enum range_result {
	RANGE_ALL,  /* no range to honour: 200 with everything */
	RANGE_PART, /* 206 with [off, off + len) */
	RANGE_BAD   /* 416 */
};

/* Parses a decimal of at most n characters; -1 if it is not one. */
static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	char num[24];

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	return parse_u64(num, out);
}

/* standard: RFC 7233 semantics (x-oss-range-behavior: standard, or S3). */
static enum range_result parse_range(const char *h, uint64_t size, int standard, int s3,
				     uint64_t *off, uint64_t *len)
{
	const char *p, *end, *dash;
	uint64_t a, b;

	if (!h || strncmp(h, "bytes=", 6) != 0)
		return RANGE_ALL; /* absent, or another unit: ignored */
	p = h + 6;
	end = strchr(p, ',');
	if (end && s3)
		return RANGE_ALL;
	if (!end)
		end = p + strlen(p);
	dash = memchr(p, '-', (size_t)(end - p));
	if (!dash)
		return RANGE_ALL;
	if (dash == p) {
		/* "-N": the last N bytes. */
		if (parse_dec(dash + 1, (size_t)(end - dash - 1), &b) < 0)
			return RANGE_ALL;
		if (b == 0 || size == 0)
			return standard ? RANGE_BAD : RANGE_ALL;
		if (b > size) {
			if (!standard)
				return RANGE_ALL;
			b = size; /* RFC 7233: a longer suffix selects everything */
		}
		*off = size - b;
		*len = b;
		return RANGE_PART;
	}
	if (parse_dec(p, (size_t)(dash - p), &a) < 0)
		return RANGE_ALL;
	if (dash + 1 == end) {
		b = UINT64_MAX;
	} else if (parse_dec(dash + 1, (size_t)(end - dash - 1), &b) < 0 || b < a) {
		return RANGE_ALL; /* not a range at all: ignored in both modes */
	}
	if (a >= size)
		return standard ? RANGE_BAD : RANGE_ALL;
	if (b >= size) {
		if (!standard && b != UINT64_MAX)
			return RANGE_ALL;
		b = size - 1;
	}
	*off = a;
	*len = b - a + 1;
	return RANGE_PART;
}

/* Does the entity-tag list of If-Match / If-None-Match name etag?  "*"
 * names any; each member may be quoted and weak ("W/"), and is compared
 * exactly (ETags are case-sensitive strings). */
static int etag_listed(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list;

	while (*p) {
		const char *q;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		q = p;
		while (*q && *q != ',')
			q++;
		n = (size_t)(q - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 1 && *p == '*')
			return 1;
		if (n >= 2 && p[0] == 'W' && p[1] == '/') {
			p += 2;
			n -= 2;
		}
		if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
			p++;
			n -= 2;
		}
		if (n == elen && memcmp(p, etag, n) == 0)
			return 1;
		p = q;
	}
	return 0;
}

/* 0 (go on), 412 or 304, in RFC 7232 §6 order. */
static unsigned preconditions(const struct req *rq, const struct obj_info *o)
{
	const char *im = req_header(rq, "If-Match");
	const char *ius = req_header(rq, "If-Unmodified-Since");
	const char *inm = req_header(rq, "If-None-Match");
	const char *ims = req_header(rq, "If-Modified-Since");
	int64_t t;

	if (im) {
		if (!etag_listed(im, o->etag))
			return 412;
	} else if (ius && sign_parse_rfc1123(ius, &t) == 0 && o->mtime > t) {
		return 412;
	}
	if (inm) {
		if (etag_listed(inm, o->etag))
			return 304;
	} else if (ims && sign_parse_rfc1123(ims, &t) == 0 && o->mtime <= t) {
		return 304;
	}
	return 0;
}

static void not_modified(struct req *rq, const struct obj_info *o)
{
	char date[30];

	reply_cleanup(&rq->reply);
	reply_init(&rq->reply);
	rq->reply.status = 304;
	reply_etag_header(rq, o->etag);
	sign_format_rfc1123(date, o->mtime);
	reply_header(rq, "Last-Modified", date);
}

static void content_range(struct req *rq, uint64_t off, uint64_t len, uint64_t size)
{
	char cr[80];

	snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)off,
		 (unsigned long long)(off + len - 1), (unsigned long long)size);
	reply_header(rq, "Content-Range", cr);
}

static void response_overrides(struct req *rq, const struct obj_info *o)
{
	static const char *const overrides[][2] = {
		{ "response-content-type", "Content-Type" },
		{ "response-content-language", "Content-Language" },
		{ "response-expires", "Expires" },
		{ "response-cache-control", "Cache-Control" },
		{ "response-content-disposition", "Content-Disposition" },
		{ "response-content-encoding", "Content-Encoding" },
	};
	const char *ctype = hdrs_get(&o->hdrs, "content-type");

	for (size_t i = 0; i < sizeof(overrides) / sizeof(*overrides); i++) {
		const char *v = req_query(rq, overrides[i][0], NULL);

		if (!v)
			continue;
		if (i == 0)
			ctype = v;
		else
			reply_header(rq, overrides[i][1], v);
	}
	reply_header(rq, "Content-Type", ctype ? ctype : "application/octet-stream");
}

/* ?partNumber=N (S3): the bytes of part N of a multipart object; part 1
 * of a simple object is all of it.  0 (with *off, *len, *ranged set) or -1
 * with the reply made. */
static int part_range(struct req *rq, const struct obj_info *o, const char *pn, uint64_t *off,
		      uint64_t *len, int *ranged)
{
	uint64_t n;

	if (parse_u64(pn, &n) < 0 || n < 1 || n > PART_NUMBER_MAX) {
		struct err_extra x = { .arg_name = "partNumber", .arg_value = pn };

		reply_error(rq, E_INVALID_ARGUMENT, &x);
		return -1;
	}
	if (req_header(rq, "Range")) {
		struct err_extra x = { .message = "Cannot specify both Range header and partNumber "
						  "query parameter." };

		reply_error(rq, E_INVALID_REQUEST, &x);
		return -1;
	}
	if (n > (o->nparts ? o->nparts : 1) || (o->nparts && !o->psizes)) {
		reply_error(rq, E_INVALID_PART_NUMBER, NULL);
		return -1;
	}
	if (o->nparts) {
		for (uint64_t i = 0; i + 1 < n; i++)
			*off += o->psizes[i];
		*len = o->psizes[n - 1];
		*ranged = 1;
	}
	return 0;
}

/* The checks before any byte: SSE-C key, conditions, archive state.
 * 0 to go on, -1 with the reply made. */
static int refusals(struct req *rq, const struct obj_info *o)
{
	enum err_id e = objopt_check_ssec(&o->opt, rq->headers, rq->nheaders);
	unsigned pre;

	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return -1;
	}
	pre = preconditions(rq, o);
	if (pre == 412) {
		reply_error(rq, E_PRECONDITION_FAILED, NULL);
		return -1;
	}
	if (pre == 304) {
		not_modified(rq, o);
		return -1;
	}
	if (!rq->is_head && objopt_is_archived(&o->opt)) {
		struct err_extra x = { .key = rq->key };

		if (rq->dialect == DIALECT_S3)
			x.storage_class = objopt_class_name(&o->opt, DIALECT_S3);
		reply_error(rq, E_INVALID_OBJECT_STATE, &x);
		return -1;
	}
	return 0;
}

void op_get_object_finish(struct req *rq)
{
	struct obj_info o;
	/* --no-part-number: as a store that does not know it (RGW 16.2). */
	const char *pn = rq->srv->cfg->no_part_number ? NULL : req_query(rq, "partNumber", NULL);
	const char *rb = req_header(rq, "x-oss-range-behavior");
	const char *mode = req_header(rq, "x-amz-checksum-mode");
	int standard = rq->dialect == DIALECT_S3 || (rb && strcasecmp(rb, "standard") == 0);
	uint64_t off = 0, len;
	int fd = -1, ranged = 0;
	enum err_id e;

	e = store_object_open(rq->srv->store, rq->bucket, rq->key, &o, &fd);
	if (e != E_OK) {
		struct err_extra x = { .key = rq->key };

		reply_error(rq, e, &x);
		return;
	}
	len = o.size;
	if (refusals(rq, &o) < 0)
		goto out;
	if (pn) {
		if (part_range(rq, &o, pn, &off, &len, &ranged) < 0)
			goto out;
	} else {
		/* S3's HeadObject takes a Range (and answers 206); OSS documents
		 * none for HEAD, so there it is ignored. */
		const char *range = rq->is_head && rq->dialect == DIALECT_OSS ? NULL :
									       req_header(rq, "Range");
		enum range_result rr = parse_range(range, o.size, standard,
						   rq->dialect == DIALECT_S3, &off, &len);

		if (rr == RANGE_BAD) {
			char cr[48];

			snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)o.size);
			reply_error(rq, E_INVALID_RANGE, NULL);
			reply_header(rq, "Content-Range", cr);
			goto out;
		}
		ranged = rr == RANGE_PART;
	}
	if (!rq->is_head && fd < 0 && len > 0) {
		reply_error(rq, E_DISCARDED, NULL);
		goto out;
	}
	rq->reply.status = ranged ? 206 : 200;
	reply_object_headers(rq, &o);
	/* S3 hands out the stored checksum only when asked, and only for
	 * the whole object (a range has no checksum of its own). */
	reply_opt_headers(rq, &o.opt, mode && strcasecmp(mode, "ENABLED") == 0 && !ranged);
	response_overrides(rq, &o);
	if (pn && o.nparts) {
		char np[16];

		snprintf(np, sizeof(np), "%u", o.nparts);
		reply_header(rq, "x-amz-mp-parts-count", np);
	}
	if (ranged)
		content_range(rq, off, len, o.size);
	if (rq->is_head || fd < 0) {
		rq->reply.head_only = rq->is_head;
		rq->reply.len = len;
	} else {
		rq->reply.fd = fd;
		rq->reply.off = off;
		rq->reply.len = len;
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	obj_info_cleanup(&o);
}
