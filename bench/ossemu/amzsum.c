/*
 * amzsum.c - S3 additional checksums (see amzsum.h).
 *
 * Owns: the table of kinds, their header names and encodings.  CRC-32 is
 * ISA-L's crc32_gzip_refl (the zlib CRC); CRC-32C and CRC-64/NVME come from
 * the shared core; SHA-1 and SHA-256 from OpenSSL EVP.
 *
 * Threading: reentrant; one struct per request.
 */
#include "amzsum.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <string.h>

#include "auth.h"
#include "checksum.h"

static const struct {
	const char *header;
	size_t len; /* raw bytes */
} kinds[AMZSUM_COUNT] = {
	[AMZSUM_CRC32] = { "x-amz-checksum-crc32", 4 },
	[AMZSUM_CRC32C] = { "x-amz-checksum-crc32c", 4 },
	[AMZSUM_CRC64NVME] = { "x-amz-checksum-crc64nvme", 8 },
	[AMZSUM_SHA1] = { "x-amz-checksum-sha1", 20 },
	[AMZSUM_SHA256] = { "x-amz-checksum-sha256", 32 },
};

const char *amzsum_header(enum amzsum_kind k)
{
	return (unsigned)k < AMZSUM_COUNT ? kinds[k].header : "";
}

const char *amzsums_init(struct amzsums *a, const struct sign_kv *headers, size_t n)
{
	memset(a, 0, sizeof(*a));
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		const char *v = kv_header(headers, n, kinds[k].header);
		uint8_t raw[48];
		size_t vlen;

		if (!v)
			continue;
		vlen = strlen(v);
		if (vlen != BASE64_LEN(kinds[k].len) || vlen / 4 * 3 > sizeof(raw) ||
		    base64_decode(raw, v, vlen) != (long)kinds[k].len)
			return kinds[k].header;
		memcpy(a->s[k].want, raw, kinds[k].len);
		if (k == AMZSUM_SHA1 || k == AMZSUM_SHA256) {
			EVP_MD_CTX *c = EVP_MD_CTX_new();

			if (!c || !EVP_DigestInit_ex(c, k == AMZSUM_SHA1 ? EVP_sha1() : EVP_sha256(),
						     NULL)) {
				EVP_MD_CTX_free(c);
				return "";
			}
			a->s[k].evp = c;
		}
		a->s[k].on = 1;
		a->any = 1;
	}
	return NULL;
}

void amzsums_update(struct amzsums *a, const void *p, size_t n)
{
	if (!a->any)
		return;
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		struct amzsum *s = &a->s[k];

		if (!s->on)
			continue;
		switch (k) {
		case AMZSUM_CRC32:
			s->crc = crc32_gzip_refl((uint32_t)s->crc, p, n);
			break;
		case AMZSUM_CRC32C:
			s->crc = crc32c_update((uint32_t)s->crc, p, n);
			break;
		case AMZSUM_CRC64NVME:
			s->crc = crc64_nvme_update(s->crc, p, n);
			break;
		default:
			EVP_DigestUpdate(s->evp, p, n);
			break;
		}
	}
}

int amzsums_verify(struct amzsums *a)
{
	int ok = 1;

	for (int k = 0; k < AMZSUM_COUNT; k++) {
		struct amzsum *s = &a->s[k];
		uint8_t got[32];
		unsigned int len = 0;

		if (!s->on)
			continue;
		if (k == AMZSUM_SHA1 || k == AMZSUM_SHA256) {
			EVP_DigestFinal_ex(s->evp, got, &len);
		} else {
			len = (unsigned)kinds[k].len;
			for (unsigned i = 0; i < len; i++)
				got[i] = (uint8_t)(s->crc >> (8 * (len - 1 - i)));
		}
		if (len != kinds[k].len || memcmp(got, s->want, len) != 0)
			ok = 0;
	}
	return ok;
}

void amzsums_cleanup(struct amzsums *a)
{
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		EVP_MD_CTX_free(a->s[k].evp);
		a->s[k].evp = NULL;
		a->s[k].on = 0;
	}
	a->any = 0;
}
