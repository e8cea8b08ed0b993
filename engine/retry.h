/*
 * retry.h - when to send a request again, and after how long (private).
 *
 * Owns: the class of a transport (curl) failure, full-jitter exponential
 * backoff, and the delay a server asks for (Retry-After,
 * x-oss-qos-delay-time).  Server error codes are classified by dialect.h.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions; the random state is the caller's.
 */
#ifndef HOIST_RETRY_H
#define HOIST_RETRY_H

#include <stdint.h>

#include <curl/curl.h>

#include "hoist.h"

/* What a curl failure means.  *retry is 1 for conditions a new connection
 * may not have (reset, refused, timeout, DNS hiccup). */
void retry_classify_curl(CURLcode cc, hoist_status *status, int *retry);

/* Full jitter: uniform in [0, min(cap, base * 2^retry)) milliseconds, where
 * retry is 1 for the first re-send.  rng is xorshift state (non-zero). */
uint64_t retry_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms,
			  uint64_t *rng);

/* The delay a response asks for, in ms (0: none): Retry-After seconds or
 * x-oss-qos-delay-time milliseconds, whichever is larger, capped at cap_ms. */
uint64_t retry_server_delay_ms(const char *retry_after, const char *qos_delay_ms,
			       unsigned cap_ms);

/* A fresh non-zero seed for retry_backoff_ms. */
uint64_t retry_seed(void);

#endif
