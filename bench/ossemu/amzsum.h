/*
 * amzsum.h - S3's additional checksums on a request body:
 * x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256 (base64 of the
 * big-endian CRC or of the digest).  When a request carries one, ossemu
 * computes it while the body streams in, refuses a mismatch (BadDigest) and
 * echoes it in the response, as S3 does.
 *
 * Threading: a struct amzsums belongs to one request.
 */
#ifndef OSSEMU_AMZSUM_H
#define OSSEMU_AMZSUM_H

#include <stddef.h>
#include <stdint.h>

#include "sign.h"

enum amzsum_kind {
	AMZSUM_CRC32,
	AMZSUM_CRC32C,
	AMZSUM_CRC64NVME,
	AMZSUM_SHA1,
	AMZSUM_SHA256,
	AMZSUM_COUNT
};

struct amzsum {
	int on;
	uint8_t want[32];
	uint64_t crc;   /* CRC kinds: running value */
	void *evp;      /* SHA kinds: EVP_MD_CTX* */
};

struct amzsums {
	struct amzsum s[AMZSUM_COUNT];
	int any;
};

/* The header name of a kind ("x-amz-checksum-crc32c"), and its XML
 * element in Complete results ("ChecksumCRC32C"). */
const char *amzsum_header(enum amzsum_kind k);
const char *amzsum_element(enum amzsum_kind k);
/* Its x-amz-checksum-algorithm name ("CRC32C"), and back (any case; -1
 * for an unknown name). */
const char *amzsum_name(enum amzsum_kind k);
int amzsum_from_name(const char *name);
/* The first kind a request carried (CRC kinds only, when crc_only): 1 with
 * *out set, or 0. */
int amzsum_first(const struct amzsums *a, int crc_only, enum amzsum_kind *out);
/* A multipart object's checksum from its parts' CRCs (kind k, lens the
 * part sizes): full-object (the CRC of the whole, by combining: CRC-32C and
 * CRC-64/NVME) or composite (the CRC of the parts' big-endian CRCs, then
 * "-N").  base64 text into out.  0, or -1 when k cannot make that kind. */
int amzsum_object(char *out, size_t cap, enum amzsum_kind k, int full, const uint64_t *crcs,
		  const uint64_t *lens, size_t n);
/* Reads the x-amz-checksum-* headers.  Returns NULL, or the name of a
 * header whose value is malformed (or -1-like failure: "" on ENOMEM). */
const char *amzsums_init(struct amzsums *a, const struct sign_kv *headers, size_t n);
void amzsums_update(struct amzsums *a, const void *p, size_t n);
/* 1 if every checksum the request gave matches the body. */
int amzsums_verify(struct amzsums *a);
void amzsums_cleanup(struct amzsums *a);

#endif
