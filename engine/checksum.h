/*
 * checksum.h - the checksums hoist and ossemu compute, and their encodings.
 *
 * Owns: CRC-64/XZ (OSS x-oss-hash-crc64ecma, via ISA-L crc64_ecma_refl),
 * CRC-64/NVME (S3 x-amz-checksum-crc64nvme; Debian's ISA-L 2.30 lacks it, so
 * it is a slice-by-8 table here), CRC-32C (ISA-L crc32_iscsi), the GF(2)
 * combine of two CRCs without re-reading data, MD5 (OpenSSL EVP), and the
 * hex / base64 text forms the protocols put in headers.
 *
 * Convention for every CRC here (shared by Go's hash/crc64, the OSS C SDK and
 * ISA-L): update(prev, p, n) takes the previous *finalized* CRC (0 to start)
 * and returns the finalized CRC, so crc = update(update(0, a), b) == crc(a||b)
 * and the value is directly the one servers put in headers.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: all functions are reentrant; tables are built once under
 * pthread_once.
 */
#ifndef HOIST_CHECKSUM_H
#define HOIST_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t crc64_ecma_update(uint64_t crc, const void *p, size_t n);
/* crc(A||B) from crc(A), crc(B) and len(B); O(64*64*log len). */
uint64_t crc64_ecma_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

uint64_t crc64_nvme_update(uint64_t crc, const void *p, size_t n);
uint64_t crc64_nvme_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

uint32_t crc32c_update(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* Streaming MD5 over OpenSSL EVP.  md5_init returns 0, or -1 on allocation
 * failure; md5_final may be called once and also releases the context;
 * md5_cleanup releases a context that will not be finalized (safe twice). */
struct md5_ctx {
	void *evp; /* EVP_MD_CTX*, opaque here so callers need no OpenSSL headers */
};
int md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *p, size_t n);
void md5_final(struct md5_ctx *c, uint8_t out[16]);
void md5_cleanup(struct md5_ctx *c);
void md5_once(uint8_t out[16], const void *p, size_t n);

/* Text forms.  out must hold 2*n+1 (hex) or base64_len(n)+1 bytes. */
void hex_encode(char *out, const uint8_t *p, size_t n, int upper);
/* Decodes 2*n hex digits (either case) into n bytes; -1 on a bad digit. */
int hex_decode(uint8_t *out, const char *hex, size_t n);
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)
size_t base64_encode(char *out, const uint8_t *p, size_t n);
/* Decodes standard base64 with padding; returns decoded length or -1.
 * out must hold at least (strlen(in) / 4) * 3 bytes; only the decoded
 * bytes are written (so an MD5 "...==" writes 16, not 18). */
long base64_decode(uint8_t *out, const char *in, size_t inlen);

/* "1B2M2Y8AsgTpgAmY7PhCfg==" form of an MD5: out holds 25 bytes. */
void md5_to_base64(char out[25], const uint8_t md5[16]);
/* Decimal text of a CRC64 as OSS writes it: out holds 21 bytes. */
void crc64_to_dec(char out[21], uint64_t crc);
/* Strict unsigned decimal parse (no sign, no spaces, no overflow); -1 if bad. */
int parse_u64(const char *s, uint64_t *out);

#endif
