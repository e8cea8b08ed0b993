/*
 * retry.c - retry policy: transport error classes and backoff.
 *
 * Backoff is "full jitter" (AWS architecture blog, and what the OSS Go and
 * Python SDKs use): the delay is uniform in [0, min(cap, base * 2^n)).
 * Spreading the retries of hundreds of parts over the whole window is what
 * keeps a briefly overloaded server from being hit by a synchronized wave.
 * Defaults (engine.c): base 200 ms, cap 20 s, 6 attempts.  A server that
 * names a delay (503 with Retry-After, OSS x-oss-qos-delay-time) gets at
 * least that delay.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "retry.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "checksum.h"

void retry_classify_curl(CURLcode cc, hoist_status *status, int *retry)
{
	*retry = 0;
	switch (cc) {
	case CURLE_OK:
		*status = HOIST_OK;
		return;
	case CURLE_OUT_OF_MEMORY:
		*status = HOIST_E_NOMEM;
		return;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		*status = HOIST_E_INVALID_ARG;
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		/* A certificate that is not trusted today will not be
		 * trusted in 200 ms either. */
		*status = HOIST_E_TLS;
		return;
	case CURLE_SSL_CONNECT_ERROR:
		/* A handshake can fail because the connection was reset:
		 * retry, but report TLS if it keeps failing. */
		*status = HOIST_E_TLS;
		*retry = 1;
		return;
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		/* Our own read callback refused: the caller knows why. */
		*status = HOIST_E_IO;
		return;
	default:
		/* Connect refused/timed out, resets, send/recv errors, empty
		 * replies, DNS failures, low-speed timeouts, HTTP/2 stream
		 * errors: all worth a new connection. */
		*status = HOIST_E_NETWORK;
		*retry = 1;
		return;
	}
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

uint64_t retry_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms,
			  uint64_t *rng)
{
	uint64_t ceil = base_ms;
	unsigned i;

	for (i = 0; i < retry && ceil < cap_ms; i++) {
		ceil *= 2;
	}
	if (ceil > cap_ms) {
		ceil = cap_ms;
	}
	if (ceil == 0)
		return 0;
	if (*rng == 0) {
		*rng = 0x9E3779B97F4A7C15ULL;
	}
	return xorshift64(rng) % ceil;
}

uint64_t retry_server_delay_ms(const char *retry_after, const char *qos_delay_ms,
			       unsigned cap_ms)
{
	uint64_t v, d = 0;

	/* Retry-After may also be an HTTP date; a server of ours never sends
	 * one, and our own backoff covers that case. */
	if (retry_after && parse_u64(retry_after, &v) == 0 && v < 86400) {
		d = v * 1000;
	}
	if (qos_delay_ms && parse_u64(qos_delay_ms, &v) == 0 && v > d) {
		d = v;
	}
	if (d > cap_ms) {
		d = cap_ms;
	}
	return d;
}

uint64_t retry_seed(void)
{
	uint64_t s = 0;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s) || s == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
		    (uint64_t)(uintptr_t)&s;
	}
	return s ? s : 1;
}
