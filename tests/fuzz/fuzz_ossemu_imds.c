/*
 * fuzz_ossemu_imds.c - libFuzzer target for ossemu's metadata service
 * (bench/ossemu/imds.c): imds_handle on request lines of any shape, with
 * the key ring it mints into.
 *
 * Input: one field per line.  Line 1: the mode ("v2", "v1", anything else
 * "both"), optionally followed by " ttl=N" (the keys' lifetime, 1..43200).
 * Then requests, each a line "METHOD PATH" followed by "h Name:value"
 * header lines and "t N" (advance the clock N seconds); in a header value
 * "$TOKEN" stands for the last metadata token the service issued, so that
 * fuzzed sequences reach the token-protected paths.
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - the status is one imds.h documents (200 400 401 404 405, or 500) and
 *    the body is not empty; a non-PUT /latest/api/token is 405;
 *  - a 200 token is printable base64 and, sent back, opens the metadata
 *    (also in v2 mode) until its TTL;
 *  - a 200 credentials document has the six fields (checked as text, not
 *    with the JSON library that wrote it), its key id is in the key ring
 *    with the same secret and token, and the expiry is ttl after LastUpdated;
 *  - without a valid token, v2 never answers 200 for metadata; v1 never
 *    issues a token.
 */
// fuzz-sources: bench/ossemu/imds.c bench/ossemu/keys.c bench/ossemu/kv.c bench/ossemu/map.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "imds.h"
#include "keys.h"
#include "ossemu.h"
#include "sign.h"

#define NOW 1702743657
#define MAXH 8
#define MAXLINES 64

static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* The value of "Name" in the document's text (between the quotes), or 0. */
static int field(const char *doc, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\": \"", name);
	p = strstr(doc, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	q = strchr(p, '"');
	if (!q || (size_t)(q - p) >= cap)
		return 0;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 1;
}

static int64_t parse_utc(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

static void check_creds(struct keyring *kr, const char *doc, unsigned ttl)
{
	char ak[64], sk[64], tok[256], exp[32], upd[32], code[16];
	const struct ossemu_key *k;

	check(field(doc, "AccessKeyId", ak, sizeof(ak)) && field(doc, "AccessKeySecret", sk, sizeof(sk)) &&
	      field(doc, "SecurityToken", tok, sizeof(tok)) && field(doc, "Expiration", exp, sizeof(exp)) &&
	      field(doc, "LastUpdated", upd, sizeof(upd)) && field(doc, "Code", code, sizeof(code)));
	check(strcmp(code, "Success") == 0 && strncmp(ak, "STS.", 4) == 0);
	k = keyring_find(kr, ak);
	check(k && strcmp(k->sk, sk) == 0 && k->token && strcmp(k->token, tok) == 0);
	check(parse_utc(exp) - parse_utc(upd) == (int64_t)ttl && k->expires == parse_utc(exp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *lines[MAXLINES];
	size_t n = 0;
	struct ossemu_config cfg;
	struct keyring *kr;
	struct imds *m;
	char token[128] = "";
	int64_t now = NOW, token_until = 0;
	char role[] = "fuzz-role";

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; p && n < MAXLINES;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		lines[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.imds_role = role;
	cfg.imds_ttl = 60;
	cfg.imds_mode = strncmp(lines[0], "v2", 2) == 0 ? IMDS_V2 :
			strncmp(lines[0], "v1", 2) == 0 ? IMDS_V1 : IMDS_BOTH;
	{
		const char *t = strstr(lines[0], "ttl=");
		long v = t ? strtol(t + 4, NULL, 10) : 0;

		if (v >= 1 && v <= 43200)
			cfg.imds_ttl = (unsigned)v;
	}
	kr = keyring_new(&cfg);
	m = kr ? imds_new(&cfg, kr) : NULL;
	check(kr && m);
	for (size_t i = 1; i < n; i++) {
		struct sign_kv h[MAXH];
		char *vals[MAXH];
		size_t nh = 0, j;
		char *sp = strchr(lines[i], ' ');
		struct imds_reply out;
		const char *path;
		int sent_valid = 0;

		if (lines[i][0] == 't' && lines[i][1] == ' ') {
			now += strtol(lines[i] + 2, NULL, 10) & 0xffff;
			continue;
		}
		if (!sp || lines[i][0] == 'h')
			continue;
		*sp = '\0';
		path = sp + 1;
		for (j = i + 1; j < n && lines[j][0] == 'h' && lines[j][1] == ' ' && nh < MAXH; j++) {
			char *c = strchr(lines[j] + 2, ':');

			if (!c)
				continue;
			*c = '\0';
			h[nh].name = lines[j] + 2;
			vals[nh] = strcmp(c + 1, "$TOKEN") == 0 ? token : c + 1;
			if (vals[nh] == token && token[0] && now < token_until)
				sent_valid = 1;
			h[nh].value = vals[nh];
			nh++;
		}
		memset(&out, 0, sizeof(out));
		imds_handle(m, lines[i], path, h, nh, now, &out);
		check(out.status == 200 || out.status == 400 || out.status == 401 || out.status == 404 ||
		      out.status == 405 || out.status == 500);
		check(out.content_type && out.body.len > 0 && out.body.data[out.body.len] == '\0');
		if (strcmp(path, "/latest/api/token") == 0) {
			check(strcmp(lines[i], "PUT") == 0 || out.status == 405);
			check(cfg.imds_mode != IMDS_V1 || out.status != 200);
			if (out.status == 200) {
				const char *ttl = NULL;

				check(out.body.len < sizeof(token) &&
				      strspn(out.body.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
							    "0123456789+/=") == out.body.len);
				memcpy(token, out.body.data, out.body.len + 1);
				for (size_t k = 0; k < nh; k++) {
					if (strcasecmp(h[k].name, "X-aliyun-ecs-metadata-token-ttl-seconds") == 0) {
						ttl = h[k].value;
						break;
					}
				}
				check(ttl != NULL);
				token_until = now + strtol(ttl, NULL, 10);
			}
		} else if (out.status == 200) {
			check(strcmp(lines[i], "GET") == 0);
			check(cfg.imds_mode != IMDS_V2 || sent_valid);
			if (strstr(out.body.data, "\"Code\""))
				check_creds(kr, out.body.data, cfg.imds_ttl);
			else
				check(strcmp(out.body.data, role) == 0);
		}
		buf_free(&out.body);
		i = j - 1;
	}
	imds_free(m);
	keyring_free(kr);
	free(copy);
	return 0;
}
