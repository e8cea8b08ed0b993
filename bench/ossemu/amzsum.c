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
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kv.h"
#include "checksum.h"

static const struct {
	const char *name;    /* x-amz-checksum-algorithm */
	const char *header;
	const char *element; /* in Complete results and ListParts */
	size_t len;          /* raw bytes */
} kinds[AMZSUM_COUNT] = {
	[AMZSUM_CRC32] = { "CRC32", "x-amz-checksum-crc32", "ChecksumCRC32", 4 },
	[AMZSUM_CRC32C] = { "CRC32C", "x-amz-checksum-crc32c", "ChecksumCRC32C", 4 },
	[AMZSUM_CRC64NVME] = { "CRC64NVME", "x-amz-checksum-crc64nvme", "ChecksumCRC64NVME", 8 },
	[AMZSUM_SHA1] = { "SHA1", "x-amz-checksum-sha1", "ChecksumSHA1", 20 },
	[AMZSUM_SHA256] = { "SHA256", "x-amz-checksum-sha256", "ChecksumSHA256", 32 },
};

const char *amzsum_name(enum amzsum_kind k)
{
	return (unsigned)k < AMZSUM_COUNT ? kinds[k].name : "";
}

int amzsum_from_name(const char *name)
{
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		if (strcasecmp(name, kinds[k].name) == 0)
			return k;
	}
	return -1;
}

const char *amzsum_header(enum amzsum_kind k)
{
	return (unsigned)k < AMZSUM_COUNT ? kinds[k].header : "";
}

const char *amzsum_element(enum amzsum_kind k)
{
	return (unsigned)k < AMZSUM_COUNT ? kinds[k].element : "";
}

int amzsum_first(const struct amzsums *a, int crc_only, enum amzsum_kind *out)
{
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		if (!a->s[k].on || (crc_only && (k == AMZSUM_SHA1 || k == AMZSUM_SHA256)))
			continue;
		*out = (enum amzsum_kind)k;
		return 1;
	}
	return 0;
}

/* The base64 text of a CRC kind's value (big-endian, as S3 writes it). */
static void crc_b64(char *out, enum amzsum_kind k, uint64_t crc)
{
	uint8_t be[8];
	size_t len = kinds[k].len;

	for (size_t i = 0; i < len; i++)
		be[i] = (uint8_t)(crc >> (8 * (len - 1 - i)));
	out[base64_encode(out, be, len)] = '\0';
}

int amzsum_object(char *out, size_t cap, enum amzsum_kind k, int full, const uint64_t *crcs,
		  const uint64_t *lens, size_t n)
{
	uint64_t acc = 0;
	char b64[16];

	if (k != AMZSUM_CRC32 && k != AMZSUM_CRC32C && k != AMZSUM_CRC64NVME)
		return -1;
	if (full && k == AMZSUM_CRC32)
		return -1; /* no CRC-32 combine in the core: no value rather than a wrong one */
	for (size_t i = 0; i < n; i++) {
		uint8_t be[8];
		size_t len = kinds[k].len;

		if (full) {
			acc = k == AMZSUM_CRC32C ? crc32c_combine((uint32_t)acc, (uint32_t)crcs[i], lens[i])
						 : crc64_nvme_combine(acc, crcs[i], lens[i]);
			continue;
		}
		/* Composite: the same CRC over the parts' big-endian values. */
		for (size_t j = 0; j < len; j++)
			be[j] = (uint8_t)(crcs[i] >> (8 * (len - 1 - j)));
		if (k == AMZSUM_CRC32)
			acc = crc32_gzip_refl((uint32_t)acc, be, len);
		else if (k == AMZSUM_CRC32C)
			acc = crc32c_update((uint32_t)acc, be, len);
		else
			acc = crc64_nvme_update(acc, be, len);
	}
	crc_b64(b64, k, acc);
	if (full)
		return snprintf(out, cap, "%s", b64) < (int)cap ? 0 : -1;
	return snprintf(out, cap, "%s-%zu", b64, n) < (int)cap ? 0 : -1;
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
