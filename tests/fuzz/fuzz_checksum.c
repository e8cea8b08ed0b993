/*
 * fuzz_checksum.c - libFuzzer target for the checksum text parsers ossemu
 * and the engine apply to network input (base64 Content-MD5, hex ETags,
 * decimal CRC headers) and for the CRC combine identity.
 *
 * Checked: base64 that decodes re-encodes to something that decodes to the
 * same bytes; hex that decodes re-encodes to the same digits (modulo
 * case); a decimal that parses prints back without its leading zeros; and
 * for CRC-64/XZ, CRC-64/NVME and CRC-32C, combine(crc(A), crc(B), |B|) ==
 * crc(A || B) at a split point the input chooses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checksum.h"

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static void check_base64(const char *in, size_t n)
{
	uint8_t *out = malloc(n / 4 * 3 + 1), *again;
	char *enc;
	long got = base64_decode(out, in, n);

	check(out != NULL);
	if (got >= 0) {
		check(n % 4 == 0 && (size_t)got <= n / 4 * 3);
		enc = malloc(BASE64_LEN((size_t)got) + 1);
		/* exactly the decoded size: base64_decode must write no more
		 * (valgrind sees it if OpenSSL does) */
		again = malloc(got ? (size_t)got : 1);
		check(enc && again);
		check(base64_encode(enc, out, (size_t)got) == BASE64_LEN((size_t)got));
		check(base64_decode(again, enc, strlen(enc)) == got);
		check(memcmp(again, out, (size_t)got) == 0);
		free(enc);
		free(again);
	}
	free(out);
}

static void check_hex(const char *in, size_t n)
{
	size_t bytes = n / 2;
	uint8_t *out = malloc(bytes + 1);
	char *enc = malloc(2 * bytes + 1);

	check(out && enc);
	if (hex_decode(out, in, bytes) == 0) {
		hex_encode(enc, out, bytes, 1);
		check(strncasecmp(enc, in, 2 * bytes) == 0);
	}
	free(out);
	free(enc);
}

static void check_decimal(const char *s)
{
	uint64_t v;
	char dec[21];

	if (parse_u64(s, &v) == 0) {
		while (s[0] == '0' && s[1]) {
			s++;
		}
		crc64_to_dec(dec, v);
		check(strcmp(dec, s) == 0);
	}
}

static void check_combine(const uint8_t *p, size_t n)
{
	size_t split = n ? p[0] % (n + 1) : 0, lb = n - split;

	check(crc64_ecma_combine(crc64_ecma_update(0, p, split),
				 crc64_ecma_update(0, p + split, lb), lb) ==
	      crc64_ecma_update(0, p, n));
	check(crc64_nvme_combine(crc64_nvme_update(0, p, split),
				 crc64_nvme_update(0, p + split, lb), lb) ==
	      crc64_nvme_update(0, p, n));
	check(crc32c_combine(crc32c_update(0, p, split), crc32c_update(0, p + split, lb), lb) ==
	      crc32c_update(0, p, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	check_base64(s, size);
	check_hex(s, size);
	check_decimal(s);
	check_combine(data, size);
	free(s);
	return 0;
}
