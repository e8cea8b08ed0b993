/*
 * body.c - request bodies: the streaming sink and the digest checks.
 *
 * Owns: the temp file a body streams into (data directory mode), the
 * running checksums (CRC-64/XZ always; MD5 when it is needed; SHA-256 when
 * the payload hash was signed; S3's x-amz-checksum-*), and the checks made
 * once the body is complete.  Nothing is buffered beyond MHD's chunk.
 *
 * Threading: functions act on one request, on the thread that owns it.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "req.h"

/* ---- body sink ---------------------------------------------------------------- */

int req_sink_open(struct req *rq)
{
	struct sink *s = &rq->sink;
	const struct ossemu_config *cfg = rq->srv->cfg;

	s->fd = -1;
	if (store_keeps_data(rq->srv->store)) {
		s->fd = store_tmp_open(rq->srv->store, &s->tmp);
		if (s->fd < 0)
			return -1;
	}
	/* MD5 is the expensive checksum (~1.7 core-s/GB): with --discard it
	 * is computed only when it must be verified or was asked for. */
	s->md5_on = store_keeps_data(rq->srv->store) || rq->has_md5 || cfg->md5_etags;
	if (s->md5_on && md5_init(&s->md5) < 0)
		return -1;
	if (rq->auth.payload_sha256[0]) {
		s->sha256 = EVP_MD_CTX_new();
		if (!s->sha256 || !EVP_DigestInit_ex(s->sha256, EVP_sha256(), NULL))
			return -1;
	}
	rq->mode = BODY_STREAM;
	return 0;
}

void sink_write(struct req *rq, const char *p, size_t n)
{
	struct sink *s = &rq->sink;

	s->crc64 = crc64_ecma_update(s->crc64, p, n);
	if (s->md5_on)
		md5_update(&s->md5, p, n);
	if (s->sha256)
		EVP_DigestUpdate(s->sha256, p, n);
	amzsums_update(&s->amz, p, n);
	while (n && s->fd >= 0 && !s->write_failed) {
		ssize_t w = write(s->fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ossemu: write %s: %s\n", s->tmp, strerror(errno));
			s->write_failed = 1;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

void sink_cleanup(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->tmp) {
		unlink(s->tmp);
		free(s->tmp);
		s->tmp = NULL;
	}
	if (s->md5_on)
		md5_cleanup(&s->md5);
	s->md5_on = 0;
	if (s->sha256)
		EVP_MD_CTX_free(s->sha256);
	s->sha256 = NULL;
	amzsums_cleanup(&s->amz);
}

/* Checks Content-MD5, the signed payload hash and x-amz-checksum-* once the
 * whole body is in.  Sets rq->err on a mismatch. */
void body_checks(struct req *rq)
{
	char sha[65] = "";

	if (rq->mode == BODY_STREAM) {
		struct sink *s = &rq->sink;

		if (s->write_failed) {
			rq->err = E_INTERNAL;
			return;
		}
		if (s->fd >= 0) {
			int r = close(s->fd);

			s->fd = -1;
			if (r < 0) {
				rq->err = E_INTERNAL;
				return;
			}
		}
		if (s->md5_on) {
			md5_final(&s->md5, rq->md5_got);
			s->md5_on = 0;
			rq->md5_known = 1;
		}
		if (s->sha256) {
			unsigned char d[32];
			unsigned int dl = 0;

			EVP_DigestFinal_ex(s->sha256, d, &dl);
			hex_encode(sha, d, 32, 0);
		}
	} else if (rq->mode == BODY_ACCUM) {
		md5_once(rq->md5_got, rq->body.data ? rq->body.data : "", rq->body.len);
		rq->md5_known = 1;
		/* An x-amz-checksum-* stands in for Content-MD5 on S3's
		 * DeleteObjects: check it on accumulated bodies too. */
		amzsums_update(&rq->sink.amz, rq->body.data ? rq->body.data : "", rq->body.len);
		if (rq->auth.payload_sha256[0])
			sign_sha256_hex(sha, rq->body.data ? rq->body.data : "", rq->body.len);
	} else if (rq->received == 0) {
		md5_once(rq->md5_got, "", 0);
		rq->md5_known = 1;
		if (rq->auth.payload_sha256[0])
			sign_sha256_hex(sha, "", 0);
	} else {
		return; /* a drained stray body: nothing to check it for */
	}
	if (rq->md5_known)
		md5_to_base64(rq->md5_b64, rq->md5_got);
	if (rq->has_md5 && memcmp(rq->md5_got, rq->md5_want, 16) != 0) {
		rq->err = E_INVALID_DIGEST;
		return;
	}
	if (rq->auth.payload_sha256[0] && strcmp(sha, rq->auth.payload_sha256) != 0) {
		rq->err = E_CONTENT_SHA256_MISMATCH;
		return;
	}
	if ((rq->mode == BODY_STREAM || rq->mode == BODY_ACCUM) && !amzsums_verify(&rq->sink.amz))
		rq->err = E_BAD_CHECKSUM;
}

/* Decodes a base64 header of exactly n raw bytes; -1 if malformed. */
static int b64_exact(uint8_t *out, size_t n, const char *v)
{
	uint8_t tmp[64];
	size_t len = strlen(v);
	long got;

	if (len != BASE64_LEN(n) || len / 4 * 3 > sizeof(tmp))
		return -1;
	got = base64_decode(tmp, v, len);
	if (got != (long)n)
		return -1;
	memcpy(out, tmp, n);
	return 0;
}

void parse_digest_headers(struct req *rq)
{
	const char *md5 = req_header(rq, "Content-MD5");
	const char *bad;

	if (md5) {
		if (b64_exact(rq->md5_want, 16, md5) < 0) {
			rq->err = E_MALFORMED_DIGEST;
			return;
		}
		rq->has_md5 = 1;
	}
	bad = amzsums_init(&rq->sink.amz, rq->headers, rq->nheaders);
	if (bad) {
		rq->err = *bad ? E_INVALID_ARGUMENT : E_INTERNAL;
		rq->errx.arg_name = *bad ? bad : NULL;
		rq->errx.arg_value = *bad ? req_header(rq, bad) : NULL;
	}
}
