/*
 * imds.c - the test instance-metadata service (see imds.h).
 *
 * Owns: the role's current credential set, the metadata tokens handed out
 * (IMDSv2), and the JSON document of a set, written with jansson.
 *
 * The document's fields and formats are the ones the credential providers
 * read (aliyun/credentials-go and credentials-python, the OSS Go SDK v2):
 * Code "Success", AccessKeyId, AccessKeySecret, SecurityToken, Expiration
 * and LastUpdated as UTC "2006-01-02T15:04:05Z".  The key material is
 * random and shaped like the real thing (an "STS." key id, a base64 token
 * with '+', '/' and '=' in it, which presigned URLs must escape).
 *
 * Threading: `mu` guards the current set, the token table and the count.
 * Minted keys go to the key ring, which has its own lock (taken inside
 * `mu`: lock order imds, then keyring; the ring never calls back).
 */
#include "imds.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "checksum.h"
#include "keys.h"
#include "kv.h"
#include "map.h"

#define TOKEN_TTL_MAX 21600 /* ECS: X-aliyun-ecs-metadata-token-ttl-seconds is 1..21600 */
/* Metadata tokens kept at most; past it the expired ones are dropped, and
 * if none has expired the table starts over (clients then get 401 and ask
 * for a new token, as after a real token's expiry). */
#define TOKENS_MAX 4096
#define CREDS_PATH "/latest/meta-data/ram/security-credentials"

struct creds {
	char ak[40];
	char sk[48];
	char token[200];
	int64_t issued;
	int64_t expires;
};

struct imds {
	/* immutable after imds_new */
	const char *role;
	unsigned ttl;
	enum imds_mode mode;
	struct keyring *keys;

	/* synced: guarded by mu */
	pthread_mutex_t mu;
	struct creds cur;     /* cur.ak[0] == 0: none minted yet */
	struct map tokens;    /* metadata token -> (void *)(intptr_t)expiry */
	uint64_t issued;
};

static int random_bytes(uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* n random characters of [A-Za-z0-9] into out (n + 1 bytes). */
static int random_alnum(char *out, size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t raw[64];

	if (n > sizeof(raw) || random_bytes(raw, n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = set[raw[i] % (sizeof(set) - 1)];
	out[n] = '\0';
	return 0;
}

static int mint_locked(struct imds *m, int64_t now)
{
	struct creds c;
	uint8_t raw[100];

	memset(&c, 0, sizeof(c));
	memcpy(c.ak, "STS.", 4);
	if (random_alnum(c.ak + 4, 24) < 0 || random_alnum(c.sk, 40) < 0 ||
	    random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	memcpy(c.token, "CAIS", 4);
	c.token[4 + base64_encode(c.token + 4, raw, sizeof(raw))] = '\0';
	c.issued = now;
	c.expires = now + m->ttl;
	if (keyring_add(m->keys, c.ak, c.sk, c.token, c.expires) < 0)
		return -1;
	m->cur = c;
	m->issued++;
	return 0;
}

struct imds *imds_new(const struct ossemu_config *cfg, struct keyring *keys)
{
	struct imds *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->role = cfg->imds_role;
	m->ttl = cfg->imds_ttl;
	m->mode = cfg->imds_mode;
	m->keys = keys;
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

void imds_free(struct imds *m)
{
	if (!m)
		return;
	map_cleanup(&m->tokens, NULL);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int imds_path(const char *path)
{
	return strcmp(path, "/latest") == 0 || strncmp(path, "/latest/", 8) == 0;
}

uint64_t imds_issued(struct imds *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->mu);
	n = m->issued;
	pthread_mutex_unlock(&m->mu);
	return n;
}

static void text(struct imds_reply *out, unsigned status, const char *body)
{
	out->status = status;
	out->content_type = "text/plain";
	if (buf_puts(&out->body, body) < 0)
		out->status = 500;
}

static void utc(char out[24], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void purge_tokens_locked(struct imds *m, int64_t now)
{
	size_t slot = 0, n = 0;
	char **dead = calloc(m->tokens.n + 1, sizeof(*dead));
	struct map_ent *e;

	for (e = dead ? map_next(&m->tokens, &slot, NULL) : NULL; e;
	     e = map_next(&m->tokens, &slot, e)) {
		if ((int64_t)(intptr_t)e->val <= now)
			dead[n++] = e->key; /* collected first: no deletion mid-walk */
	}
	for (size_t i = 0; i < n; i++)
		map_del(&m->tokens, dead[i]);
	free(dead);
	if (m->tokens.n >= TOKENS_MAX)
		map_cleanup(&m->tokens, NULL);
}

static void put_token(struct imds *m, const struct sign_kv *h, size_t nh, int64_t now,
		      struct imds_reply *out)
{
	const char *ttl_s = kv_header(h, nh, "X-aliyun-ecs-metadata-token-ttl-seconds");
	uint64_t ttl;
	uint8_t raw[32];
	char tok[64];

	if (m->mode == IMDS_V1) {
		text(out, 404, "Not Found");
		return;
	}
	if (!ttl_s || parse_u64(ttl_s, &ttl) < 0 || ttl < 1 || ttl > TOKEN_TTL_MAX) {
		text(out, 400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600");
		return;
	}
	if (random_bytes(raw, sizeof(raw)) < 0) {
		text(out, 500, "Internal Error");
		return;
	}
	tok[base64_encode(tok, raw, sizeof(raw))] = '\0';
	pthread_mutex_lock(&m->mu);
	if (m->tokens.n >= TOKENS_MAX)
		purge_tokens_locked(m, now);
	if (map_put(&m->tokens, tok, (void *)(intptr_t)(now + (int64_t)ttl), NULL) < 0)
		out->status = 500;
	pthread_mutex_unlock(&m->mu);
	if (out->status == 500)
		text(out, 500, "Internal Error");
	else
		text(out, 200, tok);
}

/* 1 if the request may read metadata (its token, when it needs one). */
static int token_ok(struct imds *m, const struct sign_kv *h, size_t nh, int64_t now)
{
	const char *tok = kv_header(h, nh, "X-aliyun-ecs-metadata-token");
	void *v;
	int ok;

	if (m->mode == IMDS_V1 || (!tok && m->mode == IMDS_BOTH))
		return 1;
	if (!tok)
		return 0;
	pthread_mutex_lock(&m->mu);
	v = map_get(&m->tokens, tok);
	ok = v && (int64_t)(intptr_t)v > now;
	pthread_mutex_unlock(&m->mu);
	return ok;
}

static void credentials(struct imds *m, int64_t now, struct imds_reply *out)
{
	struct creds c;
	char exp[24], upd[24];
	json_t *doc;
	char *js;
	int r;

	pthread_mutex_lock(&m->mu);
	/* A new set once half the current one's life has passed. */
	r = 0;
	if (!m->cur.ak[0] || now >= m->cur.issued + (int64_t)(m->ttl > 1 ? m->ttl / 2 : 1))
		r = mint_locked(m, now);
	c = m->cur;
	pthread_mutex_unlock(&m->mu);
	if (r < 0 || !c.ak[0]) {
		text(out, 500, "Internal Error");
		return;
	}
	utc(exp, c.expires);
	utc(upd, c.issued);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "AccessKeyId", c.ak, "AccessKeySecret",
			c.sk, "Expiration", exp, "SecurityToken", c.token, "LastUpdated", upd,
			"Code", "Success");
	js = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!js || buf_puts(&out->body, js) < 0) {
		free(js);
		text(out, 500, "Internal Error");
		return;
	}
	free(js);
	out->status = 200;
	out->content_type = "application/json";
}

void imds_handle(struct imds *m, const char *method, const char *path,
		 const struct sign_kv *headers, size_t nheaders, int64_t now,
		 struct imds_reply *out)
{
	size_t plen = strlen(CREDS_PATH);

	out->status = 0;
	out->content_type = NULL;
	buf_reset(&out->body);
	if (strcmp(path, "/latest/api/token") == 0) {
		if (strcmp(method, "PUT") != 0)
			text(out, 405, "Method Not Allowed");
		else
			put_token(m, headers, nheaders, now, out);
		return;
	}
	if (strcmp(method, "GET") != 0) {
		text(out, 405, "Method Not Allowed");
		return;
	}
	if (!token_ok(m, headers, nheaders, now)) {
		text(out, 401, "Unauthorized");
		return;
	}
	if (strncmp(path, CREDS_PATH, plen) == 0 && (!path[plen] || !strcmp(path + plen, "/"))) {
		text(out, 200, m->role);
		return;
	}
	if (strncmp(path, CREDS_PATH "/", plen + 1) == 0 && strcmp(path + plen + 1, m->role) == 0) {
		credentials(m, now, out);
		return;
	}
	text(out, 404, "Not Found");
}
