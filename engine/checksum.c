/*
 * checksum.c - CRC-64/XZ, CRC-64/NVME, CRC-32C, their combine, MD5 and the
 * text encodings of checksums (see checksum.h).
 *
 * Design: the bulk CRCs go to ISA-L (crc64_ecma_refl, crc32_iscsi), which
 * picks a PCLMUL/AVX kernel at run time; CRC-64/NVME is missing from
 * Debian's ISA-L 2.30, so it is a portable slice-by-8 loop here.  Combine
 * multiplies by x^(8n) modulo the polynomial, from a table of x^(2^k)
 * built once (below): a combine is at most 64 small multiplications (~4k
 * word operations), which matters because the engine combines once per
 * part and ossemu once per Complete.  MD5 is OpenSSL EVP with the algorithm
 * fetched once, so md5_init does not pay OpenSSL 3's per-call fetch.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: every function is reentrant.  The tables are written once
 * under pthread_once and read-only afterwards.
 */
#include "checksum.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/crc64.h>
#include <openssl/evp.h>

/* Reflected polynomials (bit 0 = coefficient of x^(width-1)). */
#define POLY_CRC64_ECMA 0xC96C5795D7870F42ULL
#define POLY_CRC64_NVME 0x9A6C9329AC4BC9B5ULL
#define POLY_CRC32C     0x82F63B78ULL

/*
 * Appending n zero bytes to a bare (un-complemented) register multiplies
 * it by x^(8n) modulo the polynomial.  pow2[k] is x^(2^k) mod P, so the
 * operator for n is the product of pow2[k + 3] over the set bits k of n:
 * at most 64 multiplications of ~64 shift-and-xor steps each.  Building a
 * table is 67 such multiplications (~4k word operations), where squaring
 * 64x64 GF(2) matrices cost ~270k per polynomial: 0.8 ms of every
 * process's start for the three tables.
 */
#define POW2_N 67 /* x^(2^k) for k = 0..66: 8n for any uint64_t n */

struct crc_combine_table {
	uint64_t poly;
	int width;
	uint64_t pow2[POW2_N];
};

static struct crc_combine_table comb_ecma, comb_nvme, comb_crc32c;
static uint64_t nvme_table[8][256];
static const EVP_MD *md5_md;
/* Apart, so that a run that only hashes MD5 (one small PutObject) does not
 * build 18 KiB of CRC tables it never reads: ~150k instructions and five
 * page faults of a one-file run's start. */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static pthread_once_t md5_fetched = PTHREAD_ONCE_INIT;

/* ---- GF(2) polynomials modulo P ------------------------------------------ */

/*
 * a * b mod P in the reflected form, where bit (width - 1 - i) is the
 * coefficient of x^i.  Multiplying by x is a right shift that folds the
 * polynomial in when x^(width - 1) falls out.  Branch-free: the set bits
 * of a CRC are random, so a branch per bit would mispredict half the time.
 */
static uint64_t mulmod(const struct crc_combine_table *t, uint64_t a, uint64_t b)
{
	uint64_t p = 0;

	for (int i = t->width - 1; i >= 0; i--) {
		p ^= b & (0 - ((a >> i) & 1));
		b = (b >> 1) ^ (t->poly & (0 - (b & 1)));
	}
	return p;
}

static void combine_table_build(struct crc_combine_table *t, uint64_t poly, int width)
{
	t->poly = poly;
	t->width = width;
	t->pow2[0] = 1ULL << (width - 2); /* x^1 */
	for (int k = 1; k < POW2_N; k++) {
		t->pow2[k] = mulmod(t, t->pow2[k - 1], t->pow2[k - 1]);
	}
}

/*
 * crc(A||B) = Z_len(B)(crc(A)) ^ crc(B).  With init and xorout both all
 * ones the complements cancel (the all-ones term contributes equally to
 * crc(B) and to crc(A||B)), so this works on finalized values directly.
 * Z is linear: with crc(A) = 0 (A empty, say: one part combined onto
 * nothing) or B empty there is nothing to multiply, and the callers
 * below answer without building the tables.
 */
static uint64_t combine(const struct crc_combine_table *t, uint64_t crc_a,
			uint64_t crc_b, uint64_t len_b)
{
	for (int k = 3; len_b; k++, len_b >>= 1) {
		if (len_b & 1) {
			crc_a = mulmod(t, t->pow2[k], crc_a);
		}
	}
	return crc_a ^ crc_b;
}

/* ---- one-time setup ------------------------------------------------------ */

static void nvme_table_build(void)
{
	for (int i = 0; i < 256; i++) {
		uint64_t c = (uint64_t)i;

		for (int b = 0; b < 8; b++) {
			c = (c >> 1) ^ ((c & 1) ? POLY_CRC64_NVME : 0);
		}
		nvme_table[0][i] = c;
	}
	for (int i = 0; i < 256; i++) {
		for (int s = 1; s < 8; s++) {
			uint64_t prev = nvme_table[s - 1][i];

			nvme_table[s][i] = (prev >> 8) ^ nvme_table[0][prev & 0xff];
		}
	}
}

static void tables_init(void)
{
	nvme_table_build();
	combine_table_build(&comb_ecma, POLY_CRC64_ECMA, 64);
	combine_table_build(&comb_nvme, POLY_CRC64_NVME, 64);
	combine_table_build(&comb_crc32c, POLY_CRC32C, 32);
}

static void tables_ready(void)
{
	pthread_once(&tables_once, tables_init);
}

static void md5_fetch(void)
{
	/* An explicit fetch is reused by every md5_init; if it fails (a
	 * provider without MD5) the legacy EVP_md5() path reports the error
	 * at init time instead. */
	md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!md5_md) {
		md5_md = EVP_md5();
	}
}

static void md5_ready(void)
{
	pthread_once(&md5_fetched, md5_fetch);
}

/* ---- CRC-64/XZ (OSS) ----------------------------------------------------- */

uint64_t crc64_ecma_update(uint64_t crc, const void *p, size_t n)
{
	/* ISA-L takes and returns the finalized value (it complements on
	 * entry and exit), exactly our convention; no table needed. */
	if (n == 0)
		return crc;
	return crc64_ecma_refl(crc, p, n);
}

uint64_t crc64_ecma_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	if (crc_a == 0 || len_b == 0)
		return crc_a ^ crc_b; /* exact: nothing to multiply */
	tables_ready();
	return combine(&comb_ecma, crc_a, crc_b, len_b);
}

/* ---- CRC-64/NVME (S3) ---------------------------------------------------- */

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

uint64_t crc64_nvme_update(uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t c = ~crc;

	if (n == 0)
		return crc;
	tables_ready();
	while (n >= 8) {
		uint64_t v = load_le64(s) ^ c;

		c = nvme_table[7][v & 0xff] ^
		    nvme_table[6][(v >> 8) & 0xff] ^
		    nvme_table[5][(v >> 16) & 0xff] ^
		    nvme_table[4][(v >> 24) & 0xff] ^
		    nvme_table[3][(v >> 32) & 0xff] ^
		    nvme_table[2][(v >> 40) & 0xff] ^
		    nvme_table[1][(v >> 48) & 0xff] ^
		    nvme_table[0][v >> 56];
		s += 8;
		n -= 8;
	}
	while (n--) {
		c = (c >> 8) ^ nvme_table[0][(c ^ *s++) & 0xff];
	}
	return ~c;
}

uint64_t crc64_nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	if (crc_a == 0 || len_b == 0)
		return crc_a ^ crc_b; /* exact: nothing to multiply */
	tables_ready();
	return combine(&comb_nvme, crc_a, crc_b, len_b);
}

/* ---- CRC-32C ------------------------------------------------------------- */

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n)
{
	/* crc32_iscsi neither complements on entry nor on exit (the iSCSI
	 * caller seeds ~0 and inverts at the end), and its length is an int:
	 * complement here and feed it at most 1 GiB at a time. */
	const unsigned char *s = p;
	uint32_t c = ~crc;

	while (n > 0) {
		size_t chunk = n < (1u << 30) ? n : (1u << 30);

		c = crc32_iscsi((unsigned char *)s, (int)chunk, c);
		s += chunk;
		n -= chunk;
	}
	return ~c;
}

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	if (crc_a == 0 || len_b == 0)
		return crc_a ^ crc_b; /* exact: nothing to multiply */
	tables_ready();
	return (uint32_t)combine(&comb_crc32c, crc_a, crc_b, len_b);
}

/* ---- MD5 ----------------------------------------------------------------- */

int md5_init(struct md5_ctx *c)
{
	EVP_MD_CTX *ctx;

	md5_ready();
	c->evp = NULL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_DigestInit_ex(ctx, md5_md, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	c->evp = ctx;
	return 0;
}

void md5_update(struct md5_ctx *c, const void *p, size_t n)
{
	assert(c->evp);
	if (n) {
		EVP_DigestUpdate(c->evp, p, n);
	}
}

void md5_final(struct md5_ctx *c, uint8_t out[16])
{
	unsigned int len = 16;

	assert(c->evp);
	EVP_DigestFinal_ex(c->evp, out, &len);
	md5_cleanup(c);
}

void md5_cleanup(struct md5_ctx *c)
{
	EVP_MD_CTX_free(c->evp);
	c->evp = NULL;
}

void md5_once(uint8_t out[16], const void *p, size_t n)
{
	unsigned int len = 16;

	md5_ready();
	/* EVP_Digest wants a non-NULL pointer even for an empty input. */
	EVP_Digest(n ? p : "", n, out, &len, md5_md, NULL);
}

/* ---- text forms ---------------------------------------------------------- */

void hex_encode(char *out, const uint8_t *p, size_t n, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(uint8_t *out, const char *hex, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t base64_encode(char *out, const uint8_t *p, size_t n)
{
	size_t done = 0;

	/* EVP_EncodeBlock takes an int length; a multiple of 3 per call keeps
	 * padding only at the very end. */
	while (n > 0) {
		size_t chunk = n < 0x3FFFFFFFu ? n : 0x3FFFFFFFu;
		int w = EVP_EncodeBlock((unsigned char *)out + done, p, (int)chunk);

		done += (size_t)w;
		p += chunk;
		n -= chunk;
	}
	out[done] = '\0';
	return done;
}

static int is_b64(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

long base64_decode(uint8_t *out, const char *in, size_t inlen)
{
	uint8_t tail[3];
	size_t pad = 0, head;
	int n;

	/* EVP_DecodeBlock skips surrounding whitespace and returns 3 bytes per
	 * quartet, padding included: check the form strictly first (a
	 * Content-MD5 with junk must be refused, not half-read), then decode
	 * the last quartet aside so that only the real bytes land in out (a
	 * Content-MD5 decodes into a 16-byte array, not 18). */
	if (inlen % 4 != 0 || inlen > (size_t)INT_MAX)
		return -1;
	if (inlen == 0)
		return 0;
	if (in[inlen - 1] == '=') {
		pad++;
	}
	if (in[inlen - 2] == '=') {
		pad++;
	}
	if (pad == 1 && in[inlen - 2] == '=')
		return -1;
	for (size_t i = 0; i < inlen - pad; i++) {
		if (!is_b64((unsigned char)in[i]))
			return -1;
	}
	head = inlen - 4;
	if (head > 0) {
		n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)head);
		if (n < 0 || (size_t)n != head / 4 * 3)
			return -1;
	}
	n = EVP_DecodeBlock(tail, (const unsigned char *)in + head, 4);
	if (n != 3)
		return -1;
	memcpy(out + head / 4 * 3, tail, 3 - pad);
	return (long)(head / 4 * 3 + 3 - pad);
}

void md5_to_base64(char out[25], const uint8_t md5[16])
{
	base64_encode(out, md5, 16);
}

void crc64_to_dec(char out[21], uint64_t crc)
{
	snprintf(out, 21, "%" PRIu64, crc);
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
