/*
 * fuzz_sign.c - libFuzzer target for the signature canonicalisation that
 * ossemu runs on every request it receives (method, key, query and header
 * strings straight from the network) and the engine on every request it
 * sends: OSS V1 string to sign, OSS V4 and AWS SigV4 canonical requests,
 * the HMACs, percent-encoding and the date parsers.
 *
 * Input: one field per line, so seeds stay readable text; inside a line
 * "\n" stands for a newline and "\\" for a backslash, so header-value
 * newline injection is reachable too.
 *   line 1 method, 2 bucket, 3 key, 4 AWS path, 5 date (V1 date line, V4 /
 *   SigV4 datetime, and input to both date parsers), then any number of
 *   "q name=value", "h name:value", "a name" (V4 additional header) and
 *   "s list" (SigV4 signed headers) lines.
 *
 * Checked beyond "no crash, no leak, no UB": nothing fails without memory
 * pressure; signatures have their fixed lengths; encoded URI/query lines
 * hold only unreserved characters, '%XX' and '/'; percent-encoding decodes
 * back to its input; the query order does not change any canonical form;
 * a date that parses formats back to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sign.h"

#define MAXKV 16

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

/* Splits data into NUL-terminated, unescaped lines inside one copy. */
static size_t split_lines(char *copy, const uint8_t *data, size_t size, char **lines,
			  size_t max)
{
	size_t n = 0, w = 0;

	lines[n++] = copy;
	for (size_t i = 0; i < size; i++) {
		char c = (char)data[i];

		if (c == '\0') {
			c = ' ';
		}
		if (c == '\\' && i + 1 < size && (data[i + 1] == 'n' || data[i + 1] == '\\')) {
			copy[w++] = data[i + 1] == 'n' ? '\n' : '\\';
			i++;
			continue;
		}
		if (c == '\n') {
			copy[w++] = '\0';
			if (n == max)
				return n;
			lines[n++] = copy + w;
			continue;
		}
		copy[w++] = c;
	}
	copy[w] = '\0';
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* enc holds only unreserved, '/' (if allowed) and %XX (upper-case), and
 * decodes back to orig. */
static void check_encoding(const char *enc, const char *orig, int keep_slash)
{
	size_t o = 0;

	for (size_t i = 0; enc[i]; o++) {
		if (enc[i] == '%') {
			int hi = hexval(enc[i + 1]), lo = hi < 0 ? -1 : hexval(enc[i + 2]);

			check(lo >= 0);
			check((unsigned char)orig[o] == (unsigned)(hi << 4 | lo));
			check(!unreserved(orig[o]) && !(keep_slash && orig[o] == '/'));
			i += 3;
		} else {
			check(unreserved(enc[i]) || (keep_slash && enc[i] == '/'));
			check(orig[o] == enc[i]);
			i++;
		}
	}
	check(orig[o] == '\0');
}

/* The n-th line (0-based) of s, copied into out. */
static void nth_line(char *out, size_t outlen, const char *s, int n)
{
	const char *e;

	for (; n > 0; n--) {
		s = strchr(s, '\n');
		check(s != NULL);
		s++;
	}
	e = strchr(s, '\n');
	if (!e) {
		e = s + strlen(s);
	}
	check((size_t)(e - s) < outlen);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
}

static void check_dates(const char *s)
{
	int64_t t;
	char iso[17], rfc[30];

	if (sign_parse_iso8601(s, &t) == 0) {
		sign_format_iso8601(iso, t);
		check(strcmp(iso, s) == 0);
	}
	if (sign_parse_rfc1123(s, &t) == 0) {
		sign_format_rfc1123(rfc, t);
		check(strcmp(rfc, s) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *lines[5 + 3 * MAXKV + 4];
	struct sign_kv query[MAXKV], rquery[MAXKV], headers[MAXKV];
	const char *addl[MAXKV];
	const char *signed_headers = NULL;
	size_t nq = 0, nh = 0, na = 0, nlines;
	struct sign_request r, rr;
	char *copy, *s1, *s2, *enc;
	char sig[65], v1sig[29];
	static char l1[1 << 16], l2[1 << 16]; /* encoded lines: up to 3x the input */

	if (size > 8192)
		return 0;
	copy = malloc(size + 1);
	check(copy != NULL);
	nlines = split_lines(copy, data, size, lines, sizeof(lines) / sizeof(lines[0]));
	while (nlines < 5) {
		lines[nlines++] = "";
	}
	for (size_t i = 5; i < nlines; i++) {
		char *l = lines[i], *sep;

		if (l[0] == 'q' && l[1] == ' ' && nq < MAXKV) {
			sep = strchr(l + 2, '=');
			if (sep) {
				*sep = '\0';
			}
			query[nq].name = l + 2;
			query[nq].value = sep ? sep + 1 : NULL;
			nq++;
		} else if (l[0] == 'h' && l[1] == ' ' && nh < MAXKV) {
			sep = strchr(l + 2, ':');
			if (sep) {
				*sep = '\0';
			}
			headers[nh].name = l + 2;
			headers[nh].value = sep ? sep + 1 : "";
			nh++;
		} else if (l[0] == 'a' && l[1] == ' ' && na < MAXKV) {
			addl[na++] = l + 2;
		} else if (l[0] == 's' && l[1] == ' ') {
			signed_headers = l + 2;
		}
	}
	for (size_t i = 0; i < nq; i++) {
		rquery[i] = query[nq - 1 - i];
	}

	memset(&r, 0, sizeof(r));
	r.method = lines[0];
	r.bucket = lines[1];
	r.key = lines[2];
	r.path = lines[3];
	r.query = query;
	r.nquery = nq;
	r.headers = headers;
	r.nheaders = nh;
	rr = r;
	rr.query = rquery;

	/* OSS V1 */
	s1 = sign_oss_v1_string_to_sign(&r, lines[4]);
	s2 = sign_oss_v1_string_to_sign(&rr, lines[4]);
	check(s1 && s2 && strcmp(s1, s2) == 0);
	check(strncmp(s1, r.method, strlen(r.method)) == 0 && s1[strlen(r.method)] == '\n');
	free(s1);
	free(s2);
	check(sign_oss_v1(v1sig, "sk", &r, lines[4]) == 0 && strlen(v1sig) == 28);

	/* OSS V4 */
	{
		struct sign_v4_params p = { "sk", "cn-hangzhou", NULL, lines[4],
					    addl, na, NULL };

		s1 = sign_oss_v4_canonical_request(&r, &p);
		s2 = sign_oss_v4_canonical_request(&rr, &p);
		check(s1 && s2 && strcmp(s1, s2) == 0);
		/* URI and query lines: encoded, so no stray characters */
		if (strchr(r.method, '\n') == NULL) {
			nth_line(l1, sizeof(l1), s1, 1);
			for (const char *c = l1; *c; c++) {
				check(unreserved(*c) || *c == '%' || *c == '/');
			}
			nth_line(l2, sizeof(l2), s1, 2);
			for (const char *c = l2; *c; c++) {
				check(unreserved(*c) || *c == '%' || *c == '=' || *c == '&');
			}
		}
		free(s1);
		free(s2);
		s1 = sign_oss_v4_additional(&r, &p);
		check(s1 != NULL);
		free(s1);
		s1 = sign_oss_v4_string_to_sign(&r, &p);
		check(s1 && strncmp(s1, "OSS4-HMAC-SHA256\n", 17) == 0);
		free(s1);
		check(sign_oss_v4(sig, &r, &p) == 0 && strlen(sig) == 64);
	}

	/* AWS SigV4, with the given signed-header list and with "all" */
	for (int all = 0; all < 2; all++) {
		struct sign_aws_params p = { "secret", "us-east-1", NULL, lines[4],
					     all ? NULL : (signed_headers ? signed_headers : ""),
					     NULL, (int)(size & 1) };

		s1 = sign_aws_canonical_request(&r, &p);
		s2 = sign_aws_canonical_request(&rr, &p);
		check(s1 && s2 && strcmp(s1, s2) == 0);
		free(s1);
		free(s2);
		s1 = sign_aws_string_to_sign(&r, &p);
		check(s1 && strncmp(s1, "AWS4-HMAC-SHA256\n", 17) == 0);
		free(s1);
		check(sign_aws_v4(sig, &r, &p) == 0 && strlen(sig) == 64);
	}
	s1 = sign_aws_signed_headers(&r);
	check(s1 != NULL);
	free(s1);

	/* percent-encoding and dates on raw fields */
	for (int f = 1; f <= 3; f++) {
		for (int keep = 0; keep < 2; keep++) {
			enc = sign_uri_encode(lines[f], keep);
			check(enc != NULL);
			check_encoding(enc, lines[f], keep);
			free(enc);
		}
	}
	check_dates(lines[4]);
	check(sign_equal_ct(lines[1], lines[1]));
	check(sign_equal_ct(lines[1], lines[2]) == (strcmp(lines[1], lines[2]) == 0));
	free(copy);
	return 0;
}
