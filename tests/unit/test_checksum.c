/*
 * test_checksum.c - CRC-64/XZ, CRC-64/NVME, CRC-32C, combine, MD5 and the
 * text encodings against published vectors (oss-protocol.md §4.3, §4.4, §9)
 * and against slow bitwise reference implementations written here, across
 * sizes, alignments and split points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checksum.h"

/* ---- reference implementations ----------------------------------------- */

/* Bit-at-a-time reflected CRC with init = xorout = all ones over `width`
 * bits: the textbook definition, independent of every table and of ISA-L. */
static uint64_t ref_crc(uint64_t poly, int width, uint64_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t mask = width == 64 ? ~0ULL : (1ULL << width) - 1;

	crc = ~crc & mask;
	while (n--) {
		crc ^= *s++;
		for (int i = 0; i < 8; i++) {
			crc = (crc >> 1) ^ ((crc & 1) ? poly : 0);
		}
	}
	return ~crc & mask;
}

#define REF_ECMA(c, p, n) ref_crc(0xC96C5795D7870F42ULL, 64, (c), (p), (n))
#define REF_NVME(c, p, n) ref_crc(0x9A6C9329AC4BC9B5ULL, 64, (c), (p), (n))
#define REF_C32(c, p, n) ((uint32_t)ref_crc(0x82F63B78ULL, 32, (c), (p), (n)))

/* Deterministic filler so a failure reproduces. */
static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* ---- CRC-64/XZ ------------------------------------------------------------ */

static const struct {
	const char *in;
	uint64_t crc;
} ecma_vectors[] = {
	{ "123456789", 0x995DC9BBDF1939FAULL },
	{ "123456789", 11051210869376104954ULL },
	{ "This is a test of the emergency broadcast system.", 0x27db187fc15bbc72ULL },
	{ "This is a test of the emergency broadcast system.", 2871916124362751090ULL },
	{ "", 0 },
	{ "12345", 6748440630437108969ULL },
	{ "67890", 6285347597771850461ULL },
	{ "1234567890", 12811388247244714686ULL },
	{ "upload part 1", 6571598172666981661ULL },
	{ "123456789This is a test of the emergency broadcast system.", 0x6a7aa19fcbf48688ULL },
};

static void test_crc64_ecma_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ecma_vectors) / sizeof(ecma_vectors[0]); i++) {
		const char *in = ecma_vectors[i].in;

		assert_int_equal(crc64_ecma_update(0, in, strlen(in)), ecma_vectors[i].crc);
		assert_int_equal(REF_ECMA(0, in, strlen(in)), ecma_vectors[i].crc);
	}
	/* Streaming: update(update(0, a), b) == crc(a || b). */
	assert_int_equal(crc64_ecma_update(crc64_ecma_update(0, "12345", 5), "67890", 5),
			 12811388247244714686ULL);
	/* An empty update leaves the value alone, NULL pointer included. */
	assert_int_equal(crc64_ecma_update(0x1234, NULL, 0), 0x1234);
}

static void test_crc64_ecma_combine_vectors(void **state)
{
	static const struct {
		uint64_t a, b, len_b, ab;
	} v[] = {
		/* §9: crc("123456789") + crc("This is a test ...") */
		{ 0x995dc9bbdf1939faULL, 0x27db187fc15bbc72ULL, 49, 0x6a7aa19fcbf48688ULL },
		{ 6748440630437108969ULL, 6285347597771850461ULL, 5, 12811388247244714686ULL },
		/* len_b == 0 returns crc_a unchanged */
		{ 12345, 0, 0, 12345 },
		/* combining onto an empty A gives B */
		{ 0, 6571598172666981661ULL, 13, 6571598172666981661ULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(crc64_ecma_combine(v[i].a, v[i].b, v[i].len_b), v[i].ab);
	}
}

/* §4.4: the Bing file's five part CRCs fold to the whole-object CRC. */
static void test_crc64_ecma_combine_bing(void **state)
{
	static const uint64_t parts[] = {
		8763152386744783419ULL, 6614430229846010432ULL, 16516841772958390055ULL,
		3383540858311989068ULL, 12089466050497086081ULL,
	};
	static const uint64_t sizes[] = { 102400, 102400, 102400, 102400, 72448 };
	uint64_t acc = 0, total = 0;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		acc = crc64_ecma_combine(acc, parts[i], sizes[i]);
		total += sizes[i];
	}
	assert_int_equal(total, 482048);
	assert_int_equal(acc, 3125829253308236322ULL);
}

/* The ISA-L fast path against the bitwise reference, every size 0..600 at
 * every alignment 0..15, plus larger sizes around the kernels' block
 * boundaries, and as a stream split at every point of a small buffer. */
static void fast_vs_ref(uint64_t (*fast)(uint64_t, const void *, size_t),
			uint64_t (*ref)(uint64_t, const void *, size_t))
{
	static const size_t big[] = { 1023, 1024, 1025, 4095, 4096, 4097, 65536 + 7, 300000 };
	size_t cap = 300000 + 64;
	unsigned char *buf = malloc(cap);

	assert_non_null(buf);
	fill(buf, cap, 1);
	for (size_t align = 0; align < 16; align++) {
		for (size_t n = 0; n <= 600; n++) {
			assert_int_equal(fast(0, buf + align, n), ref(0, buf + align, n));
		}
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		for (size_t align = 0; align < 8; align += 3) {
			assert_int_equal(fast(0, buf + align, big[i]), ref(0, buf + align, big[i]));
		}
	}
	for (size_t split = 0; split <= 200; split++) {
		uint64_t whole = ref(0, buf, 200);
		uint64_t c = fast(fast(0, buf, split), buf + split, 200 - split);

		assert_int_equal(c, whole);
	}
	/* a non-zero starting value goes through the same complement dance */
	assert_int_equal(fast(0xDEADBEEF, buf, 333), ref(0xDEADBEEF, buf, 333));
	free(buf);
}

static uint64_t ref_ecma_fn(uint64_t c, const void *p, size_t n) { return REF_ECMA(c, p, n); }
static uint64_t ref_nvme_fn(uint64_t c, const void *p, size_t n) { return REF_NVME(c, p, n); }
static uint64_t ref_c32_fn(uint64_t c, const void *p, size_t n) { return REF_C32((uint32_t)c, p, n); }
static uint64_t fast_c32_fn(uint64_t c, const void *p, size_t n)
{
	return crc32c_update((uint32_t)c, p, n);
}

static void test_crc64_ecma_fast_vs_ref(void **state)
{
	(void)state;
	fast_vs_ref(crc64_ecma_update, ref_ecma_fn);
}

/* combine(crc(A), crc(B), len B) == crc(A || B) for many splits. */
static void combine_vs_direct(uint64_t (*upd)(uint64_t, const void *, size_t),
			      uint64_t (*comb)(uint64_t, uint64_t, uint64_t))
{
	enum { N = 5000 };
	unsigned char *buf = malloc(N);

	assert_non_null(buf);
	fill(buf, N, 7);
	for (size_t split = 0; split <= N; split += (split < 70 ? 1 : 97)) {
		uint64_t a = upd(0, buf, split);
		uint64_t b = upd(0, buf + split, N - split);

		assert_int_equal(comb(a, b, N - split), upd(0, buf, N));
	}
	/* Either side empty: the answers combine gives without its tables. */
	assert_int_equal(comb(upd(0, buf, N), upd(0, buf, 0), 0), upd(0, buf, N));
	assert_int_equal(comb(upd(0, buf, 0), upd(0, buf, N), N), upd(0, buf, N));
	free(buf);
}

/* Long lengths exercise the high operators: crc("x" || 2^26 + 5 zero bytes)
 * streamed must equal the value combine builds from two halves and one
 * byte, and associativity must hold at multi-GiB lengths. */
static void combine_long(uint64_t (*upd)(uint64_t, const void *, size_t),
			 uint64_t (*comb)(uint64_t, uint64_t, uint64_t))
{
	const size_t chunk = 1 << 20;
	const uint64_t len = (1ULL << 26) + 5, half = len / 2;
	unsigned char *z = calloc(1, chunk);
	uint64_t direct = upd(0, "x", 1), zeros_half = 0, c;
	uint64_t a = 0x0123456789ABCDEFULL, b = 0xFEDCBA9876543210ULL, d = 42;
	uint64_t lb = 3ULL << 33 | 77, ld = 123456789;

	assert_non_null(z);
	for (uint64_t done = 0; done < len; done += chunk) {
		direct = upd(direct, z, len - done < chunk ? (size_t)(len - done) : chunk);
	}
	for (uint64_t done = 0; done < half; done += chunk) {
		zeros_half = upd(zeros_half, z, half - done < chunk ? (size_t)(half - done) : chunk);
	}
	c = comb(upd(0, "x", 1), zeros_half, half);
	c = comb(c, zeros_half, half);
	c = comb(c, upd(0, z, 1), 1);
	assert_int_equal(2 * half + 1, len);
	assert_int_equal(c, direct);
	assert_int_equal(comb(comb(a, b, lb), d, ld), comb(a, comb(b, d, ld), lb + ld));
	free(z);
}

static void test_crc64_ecma_combine_random(void **state)
{
	(void)state;
	combine_vs_direct(crc64_ecma_update, crc64_ecma_combine);
	combine_long(crc64_ecma_update, crc64_ecma_combine);
}

/* ---- CRC-64/NVME ---------------------------------------------------------- */

static void test_crc64_nvme(void **state)
{
	(void)state;
	assert_int_equal(crc64_nvme_update(0, "123456789", 9), 0xAE8B14860A799888ULL);
	assert_int_equal(REF_NVME(0, "123456789", 9), 0xAE8B14860A799888ULL);
	assert_int_equal(crc64_nvme_update(0, "", 0), 0);
	fast_vs_ref(crc64_nvme_update, ref_nvme_fn);
	combine_vs_direct(crc64_nvme_update, crc64_nvme_combine);
	combine_long(crc64_nvme_update, crc64_nvme_combine);
	assert_int_equal(crc64_nvme_combine(crc64_nvme_update(0, "1234", 4),
					    crc64_nvme_update(0, "56789", 5), 5),
			 0xAE8B14860A799888ULL);
}

/* ---- CRC-32C -------------------------------------------------------------- */

static uint64_t c32_combine_fn(uint64_t a, uint64_t b, uint64_t n)
{
	return crc32c_combine((uint32_t)a, (uint32_t)b, n);
}

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(crc32c_update(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(REF_C32(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(crc32c_update(0, "", 0), 0);
	assert_int_equal(crc32c_update(0x55, NULL, 0), 0x55);
	fast_vs_ref(fast_c32_fn, ref_c32_fn);
	combine_vs_direct(fast_c32_fn, c32_combine_fn);
	combine_long(fast_c32_fn, c32_combine_fn);
	assert_int_equal(crc32c_combine(crc32c_update(0, "12345", 5),
					crc32c_update(0, "6789", 4), 4), 0xE3069283u);
}

/* ---- MD5, ETag building blocks ---------------------------------------------- */

static void test_md5_base64(void **state)
{
	static const struct {
		const char *in, *b64, *hex;
	} v[] = {
		{ "0123456789", "eB5eJF1ptWaXm4bijSPyxw==", "781e5e245d69b566979b86e28d23f2c7" },
		{ "", "1B2M2Y8AsgTpgAmY7PhCfg==", "d41d8cd98f00b204e9800998ecf8427e" },
	};
	uint8_t md[16], md2[16];
	char b64[25], hex[33];
	struct md5_ctx c;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);

		md5_once(md, v[i].in, n);
		md5_to_base64(b64, md);
		assert_string_equal(b64, v[i].b64);
		hex_encode(hex, md, 16, 0);
		assert_string_equal(hex, v[i].hex);
		/* streamed one byte at a time gives the same digest */
		assert_int_equal(md5_init(&c), 0);
		for (size_t j = 0; j < n; j++) {
			md5_update(&c, v[i].in + j, 1);
		}
		md5_final(&c, md2);
		assert_null(c.evp);
		assert_memory_equal(md, md2, 16);
	}
	/* cleanup without final, twice, is safe */
	assert_int_equal(md5_init(&c), 0);
	md5_update(&c, "abc", 3);
	md5_cleanup(&c);
	md5_cleanup(&c);
}

/* md5 of data as the 32-char upper-case hex a part ETag carries */
static void md5_upper(char out[33], const void *p, size_t n)
{
	uint8_t md[16];

	md5_once(md, p, n);
	hex_encode(out, md, 16, 1);
}

/* §4.3: final ETag = UPPER_HEX(MD5(concatenated UPPER_HEX part ETags)). */
static void test_etag_building_blocks(void **state)
{
	static const char *const bing[] = {
		"251AD9D223371CF6380544DF72E106CB", "215A888785362D10E3F5204BFAB1EEDF",
		"547DF973F1622420B4D20B5E7C6D329C", "B820869246C889A0AD3C54043F2B7E05",
		"BCCAB4D694301EB00A03686D12F331A7",
	};
	char cat[5 * 32 + 1], out[33], p1[33], p2[33];
	unsigned char *a = malloc(102400), b[1000];
	uint8_t raw[16];

	(void)state;
	assert_non_null(a);
	cat[0] = '\0';
	for (size_t i = 0; i < 5; i++) {
		/* round-trip through hex_decode/hex_encode as a server would */
		assert_int_equal(hex_decode(raw, bing[i], 16), 0);
		hex_encode(cat + 32 * i, raw, 16, 1);
	}
	assert_int_equal(strlen(cat), 160);
	md5_upper(out, cat, 160);
	assert_string_equal(out, "2351E662233817A7AE974D8C5B0876DD");

	memset(a, 0x61, 102400);
	memset(b, 0x62, sizeof(b));
	md5_upper(p1, a, 102400);
	md5_upper(p2, b, sizeof(b));
	assert_string_equal(p1, "302D3A0C8E319EAA95B059B346DE1D1D");
	assert_string_equal(p2, "C73C16DE8912C313C06AC38B9961E806");
	memcpy(cat, p1, 32);
	memcpy(cat + 32, p2, 33);
	md5_upper(out, cat, 64);
	assert_string_equal(out, "090978F3FDABF992C84535BA4A870EE0");
	free(a);
}

/* ---- text forms --------------------------------------------------------------- */

static void test_hex(void **state)
{
	uint8_t out[4];
	char s[9];

	(void)state;
	assert_int_equal(hex_decode(out, "00fFa5C3", 4), 0);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0xa5);
	assert_int_equal(out[3], 0xc3);
	hex_encode(s, out, 4, 0);
	assert_string_equal(s, "00ffa5c3");
	hex_encode(s, out, 4, 1);
	assert_string_equal(s, "00FFA5C3");
	assert_int_equal(hex_decode(out, "0g", 1), -1);
	assert_int_equal(hex_decode(out, "g0", 1), -1);
	assert_int_equal(hex_decode(out, "0 ", 1), -1);
	assert_int_equal(hex_decode(out, "1\0", 1), -1);
	hex_encode(s, out, 0, 0);
	assert_string_equal(s, "");
}

static void test_base64(void **state)
{
	static const struct {
		const char *raw, *b64;
	} ok[] = {
		{ "", "" }, { "a", "YQ==" }, { "ab", "YWI=" }, { "abc", "YWJj" },
		{ "abcd", "YWJjZA==" }, { "\xff\xfe\xfd", "//79" }, { "\xfb\xff", "+/8=" },
	};
	static const char *const bad[] = {
		"YQ=", "YQ", "Y", "YQ=A", "Y===", "====", "YW!j", "YWJj\n", " YWJ",
		"YWJ ", "YQ==YQ==", "YW=j",
	};
	uint8_t out[64];
	char enc[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = strlen(ok[i].raw);

		assert_int_equal(base64_encode(enc, (const uint8_t *)ok[i].raw, n),
				 strlen(ok[i].b64));
		assert_string_equal(enc, ok[i].b64);
		assert_int_equal(BASE64_LEN(n), strlen(ok[i].b64));
		assert_int_equal(base64_decode(out, ok[i].b64, strlen(ok[i].b64)), (long)n);
		assert_memory_equal(out, ok[i].raw, n);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(base64_decode(out, bad[i], strlen(bad[i])), -1);
	}
	/* a Content-MD5 decodes to 16 bytes, and writes no more than that
	 * (OpenSSL alone would write 18) */
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(base64_decode(out, "eB5eJF1ptWaXm4bijSPyxw==", 24), 16);
	assert_int_equal(out[0], 0x78);
	assert_int_equal(out[15], 0xc7);
	assert_int_equal(out[16], 0xAA);
	assert_int_equal(out[17], 0xAA);
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(base64_decode(out, "YWJjZA==", 8), 4);
	assert_memory_equal(out, "abcd\xAA\xAA", 6);
	assert_int_equal(base64_decode(out, "YWJjZGU=", 8), 5);
	assert_memory_equal(out, "abcde\xAA", 6);
}

static void test_decimal(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} v[] = {
		{ "0", 0, 0 }, { "7", 0, 7 }, { "3125829253308236322", 0, 3125829253308236322ULL },
		{ "18446744073709551615", 0, UINT64_MAX }, { "0012", 0, 12 },
		{ "18446744073709551616", -1, 0 }, { "99999999999999999999", -1, 0 },
		{ "", -1, 0 }, { "-1", -1, 0 }, { "+1", -1, 0 }, { " 1", -1, 0 },
		{ "1 ", -1, 0 }, { "12a", -1, 0 }, { "0x10", -1, 0 }, { "1.5", -1, 0 },
	};
	char dec[21];
	uint64_t out;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		out = 0xAAAA;
		assert_int_equal(parse_u64(v[i].s, &out), v[i].rc);
		if (v[i].rc == 0) {
			assert_int_equal(out, v[i].v);
		}
	}
	assert_int_equal(parse_u64(NULL, &out), -1);
	crc64_to_dec(dec, 3125829253308236322ULL);
	assert_string_equal(dec, "3125829253308236322");
	crc64_to_dec(dec, UINT64_MAX);
	assert_string_equal(dec, "18446744073709551615");
	crc64_to_dec(dec, 0);
	assert_string_equal(dec, "0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc64_ecma_vectors),
		cmocka_unit_test(test_crc64_ecma_combine_vectors),
		cmocka_unit_test(test_crc64_ecma_combine_bing),
		cmocka_unit_test(test_crc64_ecma_fast_vs_ref),
		cmocka_unit_test(test_crc64_ecma_combine_random),
		cmocka_unit_test(test_crc64_nvme),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_md5_base64),
		cmocka_unit_test(test_etag_building_blocks),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
