/*
 * creds.c - where the hoist command gets its keys: the credentials chain.
 *
 * Owns: the order of the sources and each source's reader, for oss://
 * in the order Alibaba Cloud's own credential tools use
 * (docs/oss-get-list-delete.md 6.4-6.5):
 *   1. OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET / OSS_SESSION_TOKEN (the
 *      OSS SDKs' names), then ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET /
 *      ALIBABA_CLOUD_SECURITY_TOKEN;
 *   2. a profile (--profile, else ALIBABA_CLOUD_PROFILE, else the file's
 *      "current", else "default") of ALIBABA_CLOUD_CREDENTIALS_FILE or
 *      ~/.alibabacloud/credentials, in the INI form of the credentials
 *      libraries (type = access_key | sts | ecs_ram_role) or the JSON form
 *      of the Alibaba Cloud CLI's config.json (mode AK | StsToken |
 *      EcsRamRole);
 *   3. the ECS instance's RAM role, from the metadata service
 *      (HOIST_ECS_METADATA_ENDPOINT, default http://100.100.100.200): the
 *      role ALIBABA_CLOUD_ECS_METADATA names, or the one it lists; an
 *      IMDSv2 token first, without one only if IMDSv1 is allowed
 *      (ALIBABA_CLOUD_IMDSV1_DISABLED); skipped when
 *      ALIBABA_CLOUD_ECS_METADATA_DISABLED=true.
 * For s3:// the AWS order (awsconfig.c): AWS_* variables, then the
 * shared credentials file.  With nothing found, requests are anonymous.
 *
 * Keys that expire come with a provider the engine calls again: the
 * metadata role's (new STS keys before each set expires), and a profile
 * with a session token (the file is read again when the server says the
 * token expired, since another tool may have renewed it).  Keys from the
 * environment are fixed for the run.
 *
 * Secrets stay in memory (wiped when freed): never printed, logged or
 * written; --verbose names the source only.  The metadata service is
 * asked with libcurl's easy interface, its JSON read with jansson.
 * Threading: resolution on the main thread; a provider is then called by
 * the engine's "hoist-creds" thread only (never two calls at a time), and
 * the main thread no longer touches its state until cli_creds_free, which
 * runs after the engine is freed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

#define ECS_DEFAULT_ENDPOINT "http://100.100.100.200"
/* What both credential libraries ask for (6 h, the largest allowed). */
#define ECS_TOKEN_TTL "21600"
/* The credential libraries use 1 s to connect and 1 s to read, for a
 * service on the instance's own link.  Twice that here: a loaded host (or
 * a sanitizer build) must not lose its keys to a slow answer. */
#define ECS_CONNECT_MS 2000L
#define ECS_TOTAL_MS 5000L
#define ECS_BODY_MAX (64 * 1024)
#define FILE_MAX (1024 * 1024)

enum src_kind { SRC_NONE, SRC_STATIC, SRC_FILE, SRC_ECS };

struct cli_creds {
	enum src_kind kind;
	/* The keys the engine borrows (static keys, or a provider's last). */
	char *ak, *sk, *token;
	int64_t expiration;
	/* SRC_FILE: where to read again, in which form. */
	char *path;
	char *profile;
	enum hoist_dialect dialect;
	int primed;                /* the first provider call returns the keys above */
	/* SRC_ECS */
	char *ecs_base;
	char *ecs_role;            /* NULL: discover */
	int ecs_v1_allowed;
	int ecs_used_v1;           /* the last fetch went without a token */
	char source[1024];         /* what --verbose says */
};

static void wipe_free(char **s)
{
	if (*s) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static void keys_clear(struct cli_creds *cc)
{
	free(cc->ak);
	cc->ak = NULL;
	wipe_free(&cc->sk);
	wipe_free(&cc->token);
	cc->expiration = 0;
}

void cli_creds_free(struct cli_creds *cc)
{
	if (!cc)
		return;
	keys_clear(cc);
	free(cc->path);
	free(cc->profile);
	free(cc->ecs_base);
	free(cc->ecs_role);
	free(cc);
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int env_true(const char *name)
{
	const char *v = getenv(name);

	return v && strcasecmp(v, "true") == 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Takes ak/sk/token (copies); -1 on ENOMEM. */
static int keys_set(struct cli_creds *cc, const char *ak, const char *sk, const char *token,
		    int64_t expiration)
{
	keys_clear(cc);
	cc->ak = strdup(ak);
	cc->sk = strdup(sk);
	cc->token = dup_or_null(token);
	cc->expiration = expiration;
	if (!cc->ak || !cc->sk || (token && *token && !cc->token)) {
		keys_clear(cc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------ metadata (ECS) */

struct body {
	char *data;
	size_t len;
	int too_big;
};

static size_t body_write(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t k = size * n;
	char *d;

	if (b->len + k > ECS_BODY_MAX) {
		b->too_big = 1;
		return 0;
	}
	d = realloc(b->data, b->len + k + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, p, k);
	b->data = d;
	b->len += k;
	b->data[b->len] = '\0';
	return k;
}

static void body_free(struct body *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->len);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

/* One metadata request.  Returns the HTTP status (body in b), or 0 with
 * err filled when there was no answer. */
static long ecs_call(const struct cli_creds *cc, const char *method, const char *path,
		     const char *header, struct body *b, char *err, size_t errlen)
{
	char url[1024], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hl = NULL, *n;
	CURL *h = curl_easy_init();
	long status = 0;
	CURLcode rc;

	memset(b, 0, sizeof(*b));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	snprintf(url, sizeof(url), "%s%s", cc->ecs_base, path);
	if (header) {
		n = curl_slist_append(hl, header);
		if (!n) {
			curl_easy_cleanup(h);
			snprintf(err, errlen, "out of memory");
			return 0;
		}
		hl = n;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ECS_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ECS_TOTAL_MS);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	/* The metadata service is on the link: never through a proxy. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (hl) {
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	}
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	} else {
		snprintf(err, errlen, "%s", b->too_big ? "answer larger than 64 KiB"
				       : ebuf[0] ? ebuf : curl_easy_strerror(rc));
		body_free(b);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return status;
}

/* "2006-01-02T15:04:05Z" to Unix seconds; -1 if it is not that. */
static int64_t parse_utc(const char *s)
{
	struct tm tm;
	char z = 0;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) != 7 || z != 'Z' || s[n])
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1])) {
		s[--n] = '\0';
	}
}

/* Reads the credentials document: Code Success, the three keys, the
 * expiry.  Returns 0 or -1 with err. */
static int ecs_parse(struct cli_creds *cc, const struct body *b, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	const char *code, *ak, *sk, *tok, *exp;
	int64_t e;
	int rc = -1;

	if (!json_is_object(doc)) {
		snprintf(err, errlen, "the credentials document is not JSON");
		goto out;
	}
	code = json_string_value(json_object_get(doc, "Code"));
	ak = json_string_value(json_object_get(doc, "AccessKeyId"));
	sk = json_string_value(json_object_get(doc, "AccessKeySecret"));
	tok = json_string_value(json_object_get(doc, "SecurityToken"));
	exp = json_string_value(json_object_get(doc, "Expiration"));
	if (!code || strcasecmp(code, "Success") != 0) {
		snprintf(err, errlen, "the credentials document says Code %s", code ? code : "(none)");
		goto out;
	}
	if (!ak || !*ak || !sk || !*sk || !tok || !*tok) {
		snprintf(err, errlen, "the credentials document lacks AccessKeyId, AccessKeySecret or SecurityToken");
		goto out;
	}
	e = parse_utc(exp);
	if (e < 0) {
		snprintf(err, errlen, "the credentials document's Expiration is not a UTC time");
		goto out;
	}
	if (keys_set(cc, ak, sk, tok, e) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* Token (IMDSv2), role, credentials.  Returns HOIST_OK with the keys in
 * cc, or a status with one line in err naming the service. */
static hoist_status ecs_fetch(struct cli_creds *cc, char *err, size_t errlen)
{
	char hdr[256] = "", why[256] = "", path[512];
	struct body b;
	long st;
	hoist_status rc = HOIST_E_NETWORK;

	st = ecs_call(cc, "PUT", "/latest/api/token",
		      "X-aliyun-ecs-metadata-token-ttl-seconds: " ECS_TOKEN_TTL, &b, why, sizeof(why));
	if (st == 200 && b.data && b.len < 200) {
		trim_end(b.data);
		snprintf(hdr, sizeof(hdr), "X-aliyun-ecs-metadata-token: %s", b.data);
		cc->ecs_used_v1 = 0;
	} else if (st == 0) {
		/* Nothing answers: no metadata service here. */
		body_free(&b);
		snprintf(err, errlen, "ECS metadata service %s: %s", cc->ecs_base, why);
		return HOIST_E_NETWORK;
	} else if (!cc->ecs_v1_allowed) {
		body_free(&b);
		snprintf(err, errlen,
			 "ECS metadata service %s: no IMDSv2 token (HTTP %ld) and IMDSv1 is disabled (ALIBABA_CLOUD_IMDSV1_DISABLED)",
			 cc->ecs_base, st);
		return HOIST_E_AUTH;
	} else {
		cc->ecs_used_v1 = 1;
	}
	body_free(&b);

	if (!cc->ecs_role) {
		st = ecs_call(cc, "GET", "/latest/meta-data/ram/security-credentials/",
			      hdr[0] ? hdr : NULL, &b, why, sizeof(why));
		if (st == 200 && b.data) {
			trim_end(b.data);
		}
		if (st != 200 || !b.data || !*b.data || strchr(b.data, '/') || strchr(b.data, '\n')) {
			snprintf(err, errlen, "ECS metadata service %s: no RAM role attached (%s%ld)",
				 cc->ecs_base, st ? "HTTP " : why, st);
			if (!st) {
				snprintf(err, errlen, "ECS metadata service %s: %s", cc->ecs_base, why);
			}
			body_free(&b);
			return st ? HOIST_E_AUTH : HOIST_E_NETWORK;
		}
		cc->ecs_role = strdup(b.data);
		body_free(&b);
		if (!cc->ecs_role) {
			snprintf(err, errlen, "out of memory");
			return HOIST_E_NOMEM;
		}
	}
	snprintf(path, sizeof(path), "/latest/meta-data/ram/security-credentials/%s", cc->ecs_role);
	st = ecs_call(cc, "GET", path, hdr[0] ? hdr : NULL, &b, why, sizeof(why));
	explicit_bzero(hdr, sizeof(hdr));
	if (st != 200) {
		if (st) {
			snprintf(err, errlen, "ECS metadata service %s: role '%s': HTTP %ld", cc->ecs_base,
				 cc->ecs_role, st);
			rc = st == 404 || st == 401 || st == 403 ? HOIST_E_AUTH : HOIST_E_SERVER;
		} else {
			snprintf(err, errlen, "ECS metadata service %s: %s", cc->ecs_base, why);
		}
		body_free(&b);
		return rc;
	}
	if (ecs_parse(cc, &b, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "ECS metadata service %s: role '%s': %s", cc->ecs_base, cc->ecs_role,
			 why);
		body_free(&b);
		return HOIST_E_SERVER;
	}
	body_free(&b);
	return HOIST_OK;
}

/* ------------------------------------------------------ profile files */

struct profile {
	char *type;                /* INI type / JSON mode, as written */
	char *ak, *sk, *token, *role;
	int found;
	int has_role;              /* role_name present (it may be empty) */
};

static void profile_cleanup(struct profile *p)
{
	free(p->type);
	free(p->ak);
	wipe_free(&p->sk);
	wipe_free(&p->token);
	free(p->role);
	memset(p, 0, sizeof(*p));
}

/* The whole file (at most FILE_MAX), malloc'd; NULL when absent. */
static char *slurp(const char *path, int *too_big)
{
	FILE *f = fopen(path, "r");
	char *d;
	size_t n;

	*too_big = 0;
	if (!f)
		return NULL;
	d = malloc(FILE_MAX + 1);
	if (!d) {
		fclose(f);
		return NULL;
	}
	n = fread(d, 1, FILE_MAX + 1, f);
	fclose(f);
	if (n > FILE_MAX) {
		*too_big = 1;
		explicit_bzero(d, FILE_MAX + 1);
		free(d);
		return NULL;
	}
	d[n] = '\0';
	return d;
}

static char *json_dup(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? strdup(v) : NULL;
}

/* The Alibaba Cloud CLI's form: {"current": NAME, "profiles": [{"name":
 * NAME, "mode": "AK", "access_key_id": ..., ...}]}.  *name NULL: the
 * file's "current", else "default" (malloc'd into *chosen). */
static int profile_json(struct profile *p, const char *text, const char *name, char **chosen,
			char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je), *list, *e;
	size_t i;
	int rc = -1;

	if (!json_is_object(doc)) {
		snprintf(err, errlen, "not valid JSON (line %d: %s)", je.line, je.text);
		goto out;
	}
	if (!name) {
		name = json_string_value(json_object_get(doc, "current"));
		if (!name || !*name) {
			name = "default";
		}
	}
	*chosen = strdup(name);
	list = json_object_get(doc, "profiles");
	json_array_foreach(list, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (!n || strcmp(n, name) != 0)
			continue;
		p->found = 1;
		p->type = json_dup(e, "mode");
		p->ak = json_dup(e, "access_key_id");
		p->sk = json_dup(e, "access_key_secret");
		p->token = json_dup(e, "sts_token");
		p->role = json_dup(e, "ram_role_name");
		p->has_role = p->role != NULL;
		break;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* The credentials libraries' INI form: [NAME], type = access_key, ... */
static void profile_ini(struct profile *p, const char *path, const char *name)
{
	static const char *const keys[] = { "type", "access_key_id", "access_key_secret",
					    "security_token", "role_name" };
	char **outs[] = { &p->type, &p->ak, &p->sk, &p->token, &p->role };

	p->found = cli_ini_lookup(path, name, keys, outs, 5);
	p->has_role = p->role != NULL;
}

/* Reads profile `name` (NULL: the default choice) of path into p; *chosen
 * gets the name looked for.  Returns 0 (p->found says whether it is
 * there; a missing file is not found), or -1 with err for a file that
 * cannot be read. */
static int profile_read(struct profile *p, const char *path, const char *name, char **chosen,
			char *err, size_t errlen)
{
	int too_big, rc = 0;
	char *text = slurp(path, &too_big);
	const char *s;

	memset(p, 0, sizeof(*p));
	*chosen = NULL;
	if (!text) {
		if (too_big) {
			snprintf(err, errlen, "larger than 1 MiB");
			return -1;
		}
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		*chosen = strdup(name ? name : "default");
		return 0;
	}
	for (s = text; isspace((unsigned char)*s); s++) {
	}
	if (*s == '{') {
		rc = profile_json(p, text, name, chosen, err, errlen);
	} else {
		*chosen = strdup(name ? name : "default");
		profile_ini(p, path, *chosen ? *chosen : "default");
	}
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* What kind a profile's type or mode names. */
enum ptype { PT_UNKNOWN, PT_AK, PT_STS, PT_ECS };

static enum ptype ptype_of(const struct profile *p)
{
	const char *t = p->type;

	if (!t || !*t)
		return p->ak ? (p->token ? PT_STS : PT_AK) : p->has_role ? PT_ECS : PT_UNKNOWN;
	if (strcasecmp(t, "access_key") == 0 || strcasecmp(t, "AK") == 0)
		return PT_AK;
	if (strcasecmp(t, "sts") == 0 || strcasecmp(t, "StsToken") == 0)
		return PT_STS;
	if (strcasecmp(t, "ecs_ram_role") == 0 || strcasecmp(t, "EcsRamRole") == 0)
		return PT_ECS;
	return PT_UNKNOWN;
}

/* $HOME/rel, malloc'd, or NULL. */
static char *home_path(const char *rel)
{
	const char *home = getenv("HOME");
	size_t n;
	char *p;

	if (!home || !*home)
		return NULL;
	n = strlen(home) + strlen(rel) + 2;
	p = malloc(n);
	if (p) {
		snprintf(p, n, "%s/%s", home, rel);
	}
	return p;
}

/* ------------------------------------------------------ the providers */

/* The engine's provider (hoist_credentials_fn) for the metadata role and
 * for profiles.  The first call hands over what resolution fetched. */
static hoist_status provide(struct hoist_credentials *out, char *err, size_t errlen, void *ud)
{
	struct cli_creds *cc = ud;
	hoist_status st = HOIST_OK;

	if (!cc->primed) {
		if (cc->kind == SRC_ECS) {
			st = ecs_fetch(cc, err, errlen);
		} else {
			struct profile p;
			char *chosen = NULL;

			if (profile_read(&p, cc->path, cc->profile, &chosen, err, errlen) < 0) {
				st = HOIST_E_IO;
			} else if (!p.found || !p.ak || !p.sk || !*p.ak || !*p.sk) {
				snprintf(err, errlen, "profile '%s' of %s has no keys any more", cc->profile,
					 cc->path);
				st = HOIST_E_AUTH;
			} else if (keys_set(cc, p.ak, p.sk, p.token, 0) < 0) {
				st = HOIST_E_NOMEM;
			}
			profile_cleanup(&p);
			free(chosen);
		}
	}
	cc->primed = 0;
	if (st != HOIST_OK)
		return st;
	out->access_key_id = cc->ak;
	out->access_key_secret = cc->sk;
	out->session_token = cc->token;
	out->expiration = cc->expiration;
	return HOIST_OK;
}

/* ------------------------------------------------------ resolution */

static void verbose_source(const struct cli_common *c, const struct cli_creds *cc)
{
	if (c->verbose) {
		fprintf(stderr, "* credentials: %s\n", cc->source);
	}
}

/* Link 3: the metadata role.  explicit: the user asked for it (a role
 * named, or an ecs_ram_role profile), so a failure is reported when the
 * engine starts; otherwise it is a probe, and a machine without a
 * metadata service goes on with anonymous requests.  Returns 1 when it
 * supplies the keys, 0 when not, -1 on ENOMEM. */
static int link_ecs(struct cli_creds *cc, const char *role, int explicit_, const char *why)
{
	const char *base = env_nonempty("HOIST_ECS_METADATA_ENDPOINT");
	char err[512];
	size_t n;

	cc->ecs_base = strdup(base ? base : ECS_DEFAULT_ENDPOINT);
	if (!cc->ecs_base)
		return -1;
	n = strlen(cc->ecs_base);
	while (n && cc->ecs_base[n - 1] == '/') {
		cc->ecs_base[--n] = '\0';
	}
	cc->ecs_role = dup_or_null(role);
	if (role && *role && !cc->ecs_role)
		return -1;
	cc->ecs_v1_allowed = !env_true("ALIBABA_CLOUD_IMDSV1_DISABLED");
	cc->kind = SRC_ECS;
	if (!explicit_) {
		/* libcurl before the engine exists: global init once here
		 * (reference counted, so the engine's own call is harmless). */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		if (ecs_fetch(cc, err, sizeof(err)) != HOIST_OK) {
			snprintf(cc->source, sizeof(cc->source),
				 "none found, requests are anonymous (%s)", err);
			free(cc->ecs_base);
			cc->ecs_base = NULL;
			free(cc->ecs_role);
			cc->ecs_role = NULL;
			cc->kind = SRC_NONE;
			return 0;
		}
		cc->primed = 1;
	}
	snprintf(cc->source, sizeof(cc->source), "ECS RAM role %s%s%s from %s%s, renewed before expiry",
		 cc->ecs_role ? "'" : "(discovered)", cc->ecs_role ? cc->ecs_role : "",
		 cc->ecs_role ? "'" : "", cc->ecs_base, why);
	if (cc->primed) {
		size_t k = strlen(cc->source);

		snprintf(cc->source + k, sizeof(cc->source) - k, " (%s)",
			 cc->ecs_used_v1 ? "IMDSv1, no token" : "IMDSv2 token");
	}
	return 1;
}

/* Link 2: a profile.  Returns 1 when it supplies the keys (or hands over
 * to the metadata role), 0 when there is none, -1 after a usage line. */
static int link_profile(struct cli_creds *cc, const struct cli_common *c, const char *cmd)
{
	const char *name = c->profile ? c->profile : env_nonempty("ALIBABA_CLOUD_PROFILE");
	const char *how = c->profile ? "--profile" : "ALIBABA_CLOUD_PROFILE";
	const char *file = env_nonempty("ALIBABA_CLOUD_CREDENTIALS_FILE");
	struct profile p;
	char err[256], why[400];
	char *chosen = NULL;
	int rc = -1;

	cc->path = file ? strdup(file) : home_path(".alibabacloud/credentials");
	if (!cc->path) {
		if (!name)
			return 0;
		cli_usage_error(cmd, "%s names profile '%s', but HOME is not set", how, name);
		return -1;
	}
	if (profile_read(&p, cc->path, name, &chosen, err, sizeof(err)) < 0) {
		cli_usage_error(cmd, "credentials file %s: %s", cc->path, err);
		goto out;
	}
	if (!chosen) {
		fputs("hoist: out of memory\n", stderr);
		goto out;
	}
	if (!p.found) {
		if (name) {
			cli_usage_error(cmd, "%s names profile '%s', which is not in %s", how, name, cc->path);
			goto out;
		}
		rc = 0;
		goto out;
	}
	cc->profile = chosen;
	chosen = NULL;
	switch (ptype_of(&p)) {
	case PT_AK:
	case PT_STS:
		if (!p.ak || !*p.ak || !p.sk || !*p.sk) {
			cli_usage_error(cmd, "profile '%s' of %s: access_key_id and access_key_secret are both needed",
					cc->profile, cc->path);
			goto out;
		}
		if (keys_set(cc, p.ak, p.sk, p.token, 0) < 0) {
			fputs("hoist: out of memory\n", stderr);
			goto out;
		}
		/* A token may be renewed in the file by another tool: read it
		 * again when the server says it expired. */
		cc->kind = cc->token ? SRC_FILE : SRC_STATIC;
		cc->primed = 1;
		snprintf(cc->source, sizeof(cc->source), "profile '%s' (%s%s) of %s", cc->profile,
			 p.type ? p.type : "keys", cc->token ? ", with a session token, read again if it expires" : "",
			 cc->path);
		rc = 1;
		break;
	case PT_ECS:
		snprintf(why, sizeof(why), " (profile '%s' of %s)", cc->profile, cc->path);
		rc = link_ecs(cc, p.role && *p.role ? p.role : env_nonempty("ALIBABA_CLOUD_ECS_METADATA"),
			      1, why) < 0 ? -1 : 1;
		if (rc < 0) {
			fputs("hoist: out of memory\n", stderr);
		}
		break;
	default:
		cli_usage_error(cmd, "profile '%s' of %s: type '%s' is not supported (access_key, sts or ecs_ram_role)",
				cc->profile, cc->path, p.type ? p.type : "");
		break;
	}
out:
	profile_cleanup(&p);
	free(chosen);
	return rc;
}

/* Link 1: a pair of variables.  Returns 1 (found), 0, or -1 after a
 * usage line (half a pair). */
static int link_env(struct cli_creds *cc, const char *id_var, const char *secret_var,
		    const char *token_var, const char *cmd)
{
	const char *id = env_nonempty(id_var), *secret = env_nonempty(secret_var);
	const char *token = env_nonempty(token_var);

	if (!id && !secret)
		return 0;
	/* Half a key pair is a mistake, not a wish for anonymous access. */
	if (!id != !secret) {
		cli_usage_error(cmd, "%s is set but %s is not", id ? id_var : secret_var,
				id ? secret_var : id_var);
		return -1;
	}
	if (keys_set(cc, id, secret, token, 0) < 0) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	cc->kind = SRC_STATIC;
	snprintf(cc->source, sizeof(cc->source), "environment (%s, %s%s%s)", id_var, secret_var,
		 token ? ", " : "", token ? token_var : "");
	return 1;
}

static int chain_oss(struct cli_creds *cc, const struct cli_common *c, const char *cmd)
{
	const char *role = env_nonempty("ALIBABA_CLOUD_ECS_METADATA");
	int r;

	/* An explicit --profile beats the environment: it is on this very
	 * command line. */
	if (!c->profile) {
		r = link_env(cc, "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN", cmd);
		if (r == 0) {
			r = link_env(cc, "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
				     "ALIBABA_CLOUD_SECURITY_TOKEN", cmd);
		}
		if (r != 0)
			return r;
	}
	r = link_profile(cc, c, cmd);
	if (r != 0)
		return r;
	if (env_true("ALIBABA_CLOUD_ECS_METADATA_DISABLED")) {
		snprintf(cc->source, sizeof(cc->source),
			 "none found, requests are anonymous (ECS metadata disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED)");
		return 0;
	}
	r = link_ecs(cc, role, role != NULL, role ? " (ALIBABA_CLOUD_ECS_METADATA)" : "");
	if (r < 0) {
		fputs("hoist: out of memory\n", stderr);
	}
	return r;
}

static int chain_s3(struct cli_creds *cc, const struct cli_common *c, const char *cmd)
{
	struct cli_aws_profile ap;
	const char *profile = env_nonempty("AWS_PROFILE");
	char *path;
	int r;

	r = link_env(cc, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", cmd);
	if (r != 0)
		return r;
	/* The AWS CLI's order: the environment, then the shared files. */
	memset(&ap, 0, sizeof(ap));
	cli_aws_profile_load(&ap, 1, 0);
	if (ap.access_key_id && ap.secret_access_key) {
		r = keys_set(cc, ap.access_key_id, ap.secret_access_key, ap.session_token, 0) < 0 ? -1 : 1;
		cc->kind = cc->token ? SRC_FILE : SRC_STATIC;
		cc->primed = 1;
		cc->dialect = HOIST_DIALECT_S3;
		path = env_nonempty("AWS_SHARED_CREDENTIALS_FILE") ? strdup(getenv("AWS_SHARED_CREDENTIALS_FILE"))
								  : home_path(".aws/credentials");
		snprintf(cc->source, sizeof(cc->source), "profile '%s' of %s%s", profile ? profile : "default",
			 path ? path : "~/.aws/credentials",
			 cc->token ? " (with a session token, read again if it expires)" : "");
		free(path);
		if (r < 0) {
			fputs("hoist: out of memory\n", stderr);
		}
	}
	cli_aws_profile_cleanup(&ap);
	(void)c;
	return r;
}

/* A provider for an AWS profile re-reads the shared file. */
static hoist_status provide_aws(struct hoist_credentials *out, char *err, size_t errlen, void *ud)
{
	struct cli_creds *cc = ud;
	struct cli_aws_profile ap;
	hoist_status st = HOIST_OK;

	if (!cc->primed) {
		memset(&ap, 0, sizeof(ap));
		cli_aws_profile_load(&ap, 1, 0);
		if (!ap.access_key_id || !ap.secret_access_key) {
			snprintf(err, errlen, "the AWS credentials file has no keys any more");
			st = HOIST_E_AUTH;
		} else if (keys_set(cc, ap.access_key_id, ap.secret_access_key, ap.session_token, 0) < 0) {
			st = HOIST_E_NOMEM;
		}
		cli_aws_profile_cleanup(&ap);
	}
	cc->primed = 0;
	if (st != HOIST_OK)
		return st;
	out->access_key_id = cc->ak;
	out->access_key_secret = cc->sk;
	out->session_token = cc->token;
	out->expiration = 0;
	return HOIST_OK;
}

int cli_creds_resolve(struct cli_creds **out, struct hoist_engine_options *eo,
		      const struct cli_common *c, const struct cli_url *url, const char *cmd)
{
	struct cli_creds *cc = calloc(1, sizeof(*cc));
	int r;

	*out = NULL;
	if (!cc) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	cc->dialect = url->dialect;
	snprintf(cc->source, sizeof(cc->source), "none found, requests are anonymous");
	if (url->dialect == HOIST_DIALECT_S3) {
		if (c->profile) {
			cli_usage_error(cmd, "--profile is for oss:// (s3:// reads AWS_PROFILE)");
			cli_creds_free(cc);
			return -1;
		}
		r = chain_s3(cc, c, cmd);
	} else {
		r = chain_oss(cc, c, cmd);
	}
	if (r < 0) {
		cli_creds_free(cc);
		return -1;
	}
	switch (cc->kind) {
	case SRC_STATIC:
		eo->access_key_id = cc->ak;
		eo->access_key_secret = cc->sk;
		eo->session_token = cc->token;
		break;
	case SRC_FILE:
	case SRC_ECS:
		eo->credentials = cc->dialect == HOIST_DIALECT_S3 ? provide_aws : provide;
		eo->credentials_userdata = cc;
		break;
	case SRC_NONE:
		break;
	}
	verbose_source(c, cc);
	*out = cc;
	return 0;
}
