/*
 * verify.c - the checks of parts and objects (see verify.h).
 *
 * Layer: transfer.
 *
 * Per answer: the ETag must be our MD5 (when MD5 is on), the CRC64 header
 * our CRC64 (when the server sends it), the echoed x-amz-checksum-* ours.
 * A mismatch is retried like a transport error by the caller.
 *
 * Per object: its CRC64 is never re-read but combined from the parts'
 * (crc64_ecma_combine); without a CRC64 from the server (S3 stores) the
 * ETag is the check: a multipart ETag ("<md5>-N") must equal the one the
 * part MD5s predict; an empty one (RGW) is asked again with HEAD; one
 * without the "-N" suffix (s3rver answers with the plain MD5 of the whole
 * object, which part MD5s cannot predict) is noted, not held against an
 * upload whose every part was verified.
 *
 * Threading: pure functions on caller-owned structs.
 */
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "part.h"
#include "request.h"
#include "response.h"

void sums_spec_init(struct sums_spec *s, enum hoist_dialect d, enum hoist_checksum mode,
		    enum hoist_s3_checksum s3sum)
{
	memset(s, 0, sizeof(*s));
	s->dialect = d;
	s->want_md5 = mode == HOIST_CHECKSUM_BOTH || mode == HOIST_CHECKSUM_MD5;
	s->want_crc = mode == HOIST_CHECKSUM_BOTH || mode == HOIST_CHECKSUM_CRC64;
	s->s3sum = s3sum;
	s->prepass = s->want_md5 || s3sum != HOIST_S3_CHECKSUM_NONE;
	s->crc_inline = s->want_crc && !s->prepass;
}

int verify_add_headers(const struct sums_spec *s, struct request *r, const struct part *p)
{
	int rc = 0;

	if (s->want_md5 && p->have_md5) {
		char b64[25];

		md5_to_base64(b64, p->md5);
		rc |= request_header(r, "Content-MD5", b64);
	}
	if (p->have_s3sum) {
		char sum[13];

		s3sum_encode(sum, s->s3sum, p->s3sum);
		rc |= request_header(r, s3sum_header(s->s3sum), sum);
		r->echo_header = s3sum_header(s->s3sum);
	}
	return rc ? -1 : 0;
}

static int mismatch(struct failure *f, hoist_status st)
{
	f->status = st;
	return -1;
}

int verify_answer(const struct sums_spec *s, struct part *p, const struct request *r,
		  unsigned how, int *confirmed, struct failure *f, char *detail, size_t dlen)
{
	char ours[33];

	*confirmed = 0;
	if (s->crc_inline) {
		if (r->pos != p->len) {
			snprintf(detail, dlen, "the request ended after %" PRIu64 " of %" PRIu64 " bytes",
				 r->pos, p->len);
			return mismatch(f, HOIST_E_NETWORK);
		}
		p->crc = r->crc;
		p->have_crc = 1;
	}
	if ((how & VERIFY_PART) && (!r->etag || !*r->etag)) {
		snprintf(detail, dlen, "the response has no ETag");
		return mismatch(f, HOIST_E_SERVER);
	}
	if ((how & VERIFY_PART) && s->want_crc && p->have_crc && r->resp_crc_valid &&
	    r->resp_crc != p->crc) {
		snprintf(detail, dlen, "server CRC64 %" PRIu64 ", ours %" PRIu64, r->resp_crc, p->crc);
		return mismatch(f, HOIST_E_CHECKSUM);
	}
	if (s->want_md5 && p->have_md5 && !s->etag_not_md5 &&
	    (r->etag || !(how & VERIFY_ETAG_MAY_LACK)) && !etag_equals_md5(r->etag, p->md5)) {
		hex_encode(ours, p->md5, 16, s->dialect != HOIST_DIALECT_S3);
		snprintf(detail, dlen, "server ETag %.64s, our MD5 %s", r->etag ? r->etag : "(none)",
			 ours);
		return mismatch(f, HOIST_E_CHECKSUM);
	}
	/* S3 servers that know x-amz-checksum-* echo it (after checking it
	 * themselves: a mismatch would have been BadDigest); RGW and others
	 * ignore it, so an absent echo is no failure. */
	if (p->have_s3sum && r->echo && !s3sum_equals(r->echo, s->s3sum, p->s3sum)) {
		char sum[13];

		s3sum_encode(sum, s->s3sum, p->s3sum);
		snprintf(detail, dlen, "server %s %.24s, ours %s", s3sum_header(s->s3sum), r->echo,
			 sum);
		return mismatch(f, HOIST_E_CHECKSUM);
	}
	*confirmed = (s->want_md5 && p->have_md5 && r->etag) ||
		     (s->want_crc && p->have_crc && r->resp_crc_valid) ||
		     (p->have_s3sum && r->echo);
	return 0;
}

void verify_combine(struct object_check *oc, const struct sums_spec *s, struct part *parts,
		    unsigned nparts, int multipart)
{
	uint8_t(*md5s)[16];
	uint64_t crc = 0;
	int crc_ok = 1, md5_ok = 1;
	unsigned i;

	for (i = 0; i < nparts; i++) {
		struct part *p = &parts[i];

		if (!p->have_crc) {
			crc_ok = 0;
		} else {
			crc = crc64_ecma_combine(crc, p->crc, p->len);
		}
		if (!p->have_md5 && (!p->etag || etag_to_md5(p->md5, p->etag) < 0)) {
			md5_ok = 0;
		} else {
			p->have_md5 = 1;
		}
	}
	oc->crc = crc;
	oc->crc_valid = crc_ok && s->want_crc;
	oc->expected_etag[0] = '\0';
	if (!md5_ok || !s->want_md5 || !multipart || s->etag_not_md5)
		return;
	md5s = malloc((size_t)nparts * 16);
	if (!md5s)
		return;
	for (i = 0; i < nparts; i++) {
		memcpy(md5s[i], parts[i].md5, 16);
	}
	if (dialect_multipart_etag(s->dialect, oc->expected_etag, sizeof(oc->expected_etag), md5s,
				   nparts) < 0) {
		oc->expected_etag[0] = '\0';
	}
	free(md5s);
}

int verify_object_crc(struct object_check *oc, const struct sums_spec *s,
		      const struct request *r, enum hoist_verify how, int *need_head,
		      struct failure *f, char *detail, size_t dlen)
{
	*need_head = 0;
	/* S3 has no whole-object CRC64 to compare with: a HEAD would not
	 * find one either. */
	if (!oc->crc_valid || !dialect_names(s->dialect)->crc64)
		return 0;
	if (!r->resp_crc_valid) {
		*need_head = 1;
		return 0;
	}
	if (r->resp_crc != oc->crc) {
		snprintf(detail, dlen,
			 "the stored object's CRC64 is %" PRIu64 ", the parts sent combine to %" PRIu64,
			 r->resp_crc, oc->crc);
		request_failure(f, r, HOIST_E_CHECKSUM, detail);
		return -1;
	}
	oc->verified = how;
	return 0;
}

int verify_object_etag(struct object_check *oc, const struct request *r, const char *etag,
		       struct failure *f, char *detail, size_t dlen, char *log_line,
		       size_t loglen)
{
	log_line[0] = '\0';
	if (!oc->expected_etag[0])
		return 0;
	if (!etag || !*etag)
		return 1;
	if (!etag_is_multipart(etag)) {
		if (!oc->etag_unchecked) {
			snprintf(log_line, loglen,
				 "the server's ETag %.64s is not a multipart ETag (\"<md5>-N\"): every "
				 "part was verified, the object as a whole cannot be checked by its ETag",
				 etag);
		}
		oc->etag_unchecked = 1;
		return 0;
	}
	if (!etag_equal(etag, oc->expected_etag)) {
		snprintf(detail, dlen, "the object's ETag is %.64s, the parts sent give %s", etag,
			 oc->expected_etag);
		request_failure(f, r, HOIST_E_CHECKSUM, detail);
		return -1;
	}
	oc->etag_matched = 1;
	return 0;
}

/* The object checksum the parts predict: the full-object CRC (combined)
 * and S3's composite form ("<crc of the part CRCs>-N"), each base64 as in
 * the Complete body.  0, or -1 when a part lacks its CRC. */
static int s3sum_of_parts(enum hoist_s3_checksum k, const struct part *parts, unsigned n,
			  char full[13], char composite[24])
{
	uint64_t whole = 0, ofparts = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct part *p = &parts[i];
		size_t w = k == HOIST_S3_CHECKSUM_CRC32C ? 4 : 8, j;
		uint8_t be[8];

		if (!p->have_s3sum)
			return -1;
		if (k == HOIST_S3_CHECKSUM_CRC32C) {
			whole = crc32c_combine((uint32_t)whole, (uint32_t)p->s3sum, p->len);
		} else {
			whole = crc64_nvme_combine(whole, p->s3sum, p->len);
		}
		/* Composite: the same CRC over the parts' big-endian CRCs. */
		for (j = 0; j < w; j++) {
			be[j] = (uint8_t)(p->s3sum >> (8 * (w - 1 - j)));
		}
		if (k == HOIST_S3_CHECKSUM_CRC32C) {
			ofparts = crc32c_update((uint32_t)ofparts, be, w);
		} else {
			ofparts = crc64_nvme_update(ofparts, be, w);
		}
	}
	s3sum_encode(full, k, whole);
	s3sum_encode(composite, k, ofparts);
	snprintf(composite + strlen(composite), 24 - strlen(composite), "-%u", n);
	return 0;
}

int verify_object_s3sum(const struct sums_spec *s, struct part *parts, unsigned nparts,
			const struct request *r, const struct complete_doc *d,
			struct failure *f, char *detail, size_t dlen)
{
	const char *got = s->s3sum == HOIST_S3_CHECKSUM_CRC32C ? d->checksum_crc32c
							       : d->checksum_crc64nvme;
	char full[13], composite[24];

	if (s->s3sum == HOIST_S3_CHECKSUM_NONE || !got || !*got ||
	    s3sum_of_parts(s->s3sum, parts, nparts, full, composite) < 0)
		return 0;
	if (strcmp(got, full) == 0 || strcmp(got, composite) == 0)
		return 0;
	snprintf(detail, dlen, "the object's %s is %.32s, the parts sent give %s (or %s)",
		 s3sum_element(s->s3sum), got, full, composite);
	request_failure(f, r, HOIST_E_CHECKSUM, detail);
	return -1;
}

void verify_settle(struct object_check *oc)
{
	/* Without a CRC64 from the server, say what did check the object. */
	if (oc->verified == HOIST_VERIFY_NONE && oc->etag_matched) {
		oc->verified = HOIST_VERIFY_ETAG;
	} else if (oc->verified == HOIST_VERIFY_NONE && oc->etag_unchecked &&
		   oc->unverified_parts == 0) {
		oc->verified = HOIST_VERIFY_PARTS;
	}
}
