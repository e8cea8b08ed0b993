/*
 * kv.c - lookups in the name/value arrays a request arrives as (headers
 * and query parameters, collected by http.c, built by tests and fuzzers).
 *
 * Threading: pure functions.
 */
#include "kv.h"

#include <string.h>
#include <strings.h>

const char *kv_header(const struct sign_kv *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (h[i].name && strcasecmp(h[i].name, name) == 0)
			return h[i].value ? h[i].value : "";
	}
	return NULL;
}

const char *kv_query(const struct sign_kv *q, size_t n, const char *name, int *present)
{
	for (size_t i = 0; i < n; i++) {
		if (q[i].name && strcmp(q[i].name, name) == 0) {
			if (present)
				*present = 1;
			return q[i].value ? q[i].value : "";
		}
	}
	if (present)
		*present = 0;
	return NULL;
}
