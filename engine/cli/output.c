/*
 * output.c - what hoist prints about a finished upload.
 *
 * Owns: the human printout (the seed's: per part with --verbose, then the
 * object's status, request id, bucket, key, location, ETag, encoding type,
 * CRC64, version id and how it was verified), the --json object whose field
 * names are a contract (engine/cli/JSON.md; the bench harness parses it),
 * written with jansson, the one failure line on stderr, and the escaping
 * that keeps keys and server strings from breaking the human form.  Secrets never reach here: the
 * result struct carries none.
 * Threading: cli_print_part runs on engine threads (one at a time per
 * upload, see hoist.h); everything else on the main thread.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char *cli_status_name(hoist_status s)
{
	switch (s) {
#define CLI_STATUS_NAME_(name, value, msg) \
	case HOIST_##name:                 \
		return #name;
	HOIST_STATUS_MAP(CLI_STATUS_NAME_)
#undef CLI_STATUS_NAME_
	default:
		return "UNKNOWN";
	}
}

void cli_format_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned u = 0;

	while (bytes >= 1024.0 && u < 5) {
		bytes /= 1024.0;
		u++;
	}
	if (u == 0) {
		snprintf(buf, len, "%.0f B", bytes);
	} else {
		snprintf(buf, len, "%.*f %s", bytes < 10 ? 2 : bytes < 100 ? 1 : 0,
			 bytes, units[u]);
	}
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid.
 * Overlong forms and surrogates count as invalid, as RFC 3629 says. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80) {
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		return 0;
	}
	return n;
}

void cli_print_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s || !*s) {
		fputs("-", f);
		return;
	}
	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\x%02x", *p);
		} else {
			fputc(*p, f);
		}
	}
}

void cli_print_part(FILE *f, const struct hoist_part_info *p)
{
	fprintf(f, "part %u: status %ld, request id ", p->part_number, p->http_status);
	cli_print_safe(f, p->request_id);
	fputs(", content MD5 ", f);
	cli_print_safe(f, p->content_md5);
	fputs(", ETag ", f);
	cli_print_safe(f, p->etag);
	fprintf(f, ", CRC64 %" PRIu64 ", %" PRIu64 " bytes at %" PRIu64, p->crc64,
		p->size, p->offset);
	if (p->s3_checksum && *p->s3_checksum) {
		fputs(", S3 checksum ", f);
		cli_print_safe(f, p->s3_checksum);
		fputs(p->s3_checksum_echoed ? " (echoed)" : " (not echoed)", f);
	}
	if (p->attempts > 1) {
		fprintf(f, ", %u attempts", p->attempts);
	}
	fputc('\n', f);
	fflush(f);
}

static void field(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%-14s ", name);
	cli_print_safe(f, value);
	fputc('\n', f);
}

void cli_print_result(FILE *f, const struct hoist_result *r)
{
	char size[32], rate[32];
	double secs = r->seconds > 0 ? r->seconds : 0;

	fprintf(f, "%-14s %ld\n", "status:", r->http_status);
	field(f, "request id:", r->request_id);
	field(f, "bucket:", r->bucket);
	field(f, "key:", r->key);
	field(f, "location:", r->location);
	field(f, "ETag:", r->etag);
	field(f, "encoding type:", r->encoding_type);
	if (r->crc64_valid) {
		fprintf(f, "%-14s %" PRIu64 "\n", "CRC64:", r->crc64);
	} else {
		fprintf(f, "%-14s -\n", "CRC64:");
	}
	field(f, "version id:", r->version_id);
	if (r->upload_id) {
		field(f, "upload id:", r->upload_id);
	}
	if (r->callback_body) {
		field(f, "callback:", r->callback_body);
	}
	cli_format_bytes(size, sizeof(size), (double)r->bytes);
	cli_format_bytes(rate, sizeof(rate), secs > 0 ? (double)r->bytes / secs : 0);
	fprintf(f, "%-14s %" PRIu64 " (%s) in %.2f s, %s/s", "bytes:", r->bytes, size,
		secs, rate);
	if (r->parts) {
		char ps[32];

		cli_format_bytes(ps, sizeof(ps), (double)r->part_size);
		fprintf(f, ", %u parts of %s", r->parts, ps);
	} else {
		fputs(", one PutObject", f);
	}
	if (r->resumed_parts) {
		fprintf(f, ", %u resumed", r->resumed_parts);
	}
	if (r->retries) {
		fprintf(f, ", %u retries", r->retries);
	}
	fputc('\n', f);
	switch (r->verified) {
	case HOIST_VERIFY_RESPONSE:
		fputs("CRC64 verified by response\n", f);
		break;
	case HOIST_VERIFY_HEAD:
		fputs("CRC64 verified by HEAD (the response carried no x-oss-hash-crc64ecma)\n", f);
		break;
	case HOIST_VERIFY_ETAG:
		fputs("object verified by its ETag (no CRC64 checked)\n", f);
		break;
	case HOIST_VERIFY_PARTS:
		fputs("every part verified; the object's ETag is not a multipart ETag and could not be checked\n",
		      f);
		break;
	default:
		/* Either we computed none (--checksum md5|none) or the
		 * server reported none, not even on HEAD (S3 stores). */
		fputs(r->crc64_valid ? "CRC64 not verified: the server reported none\n"
				     : "CRC64 not verified (checksums off)\n",
		      f);
		break;
	}
	fflush(f);
}

/* ------------------------------------------------------------------ JSON
 *
 * jansson builds every object and encodes every string and number.  One
 * value it cannot hold: json_int_t is a signed 64-bit integer, and half of
 * all CRC64s are above INT64_MAX.  cli_json_u64 keeps such a value in the
 * tree as a one-member object under U64_KEY (a key no field has), and
 * cli_json_print walks the tree, writing the digits of those itself and
 * handing everything else, keys included, to json_dumpf.
 */
#define U64_KEY "\001hoist-u64"

json_t *cli_json_u64(uint64_t v)
{
	json_t *o;

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	o = json_object();
	if (o && json_object_set_new(o, U64_KEY, json_integer((json_int_t)(v - INT64_MAX - 1))) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

json_t *cli_json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, len;
	char *clean, *w;
	json_t *v;

	if (!s)
		return json_null();
	len = strlen(s);
	v = json_stringn(s, len);
	if (v)
		return v; /* valid UTF-8: the common case */
	/* Each invalid byte becomes U+FFFD (3 bytes), so that the output
	 * always parses and says where the bad bytes were. */
	clean = malloc(len * 3 + 1);
	if (!clean)
		return NULL;
	for (w = clean; *p; p += n) {
		n = utf8_len(p);
		if (n == 0) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			n = 1;
		} else {
			memcpy(w, p, n);
			w += n;
		}
	}
	v = json_stringn(clean, (size_t)(w - clean));
	free(clean);
	return v;
}

static int emit(FILE *f, json_t *v)
{
	json_t *m, *val;
	const char *key;
	size_t i;
	int rc = 0, first = 1;

	if (json_is_object(v) && (m = json_object_get(v, U64_KEY))) {
		uint64_t u = (uint64_t)json_integer_value(m) + (uint64_t)INT64_MAX + 1;

		return fprintf(f, "%" PRIu64, u) < 0 ? -1 : 0;
	}
	if (json_is_object(v)) {
		fputc('{', f);
		json_object_foreach(v, key, val) {
			json_t *k = json_string(key);

			if (!first)
				fputc(',', f);
			first = 0;
			if (!k || json_dumpf(k, f, JSON_ENCODE_ANY) < 0)
				rc = -1;
			json_decref(k);
			fputc(':', f);
			if (emit(f, val) < 0)
				rc = -1;
		}
		fputc('}', f);
		return rc;
	}
	if (json_is_array(v)) {
		fputc('[', f);
		json_array_foreach(v, i, val) {
			if (i)
				fputc(',', f);
			if (emit(f, val) < 0)
				rc = -1;
		}
		fputc(']', f);
		return rc;
	}
	return json_dumpf(v, f, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
}

void cli_json_print(FILE *f, json_t *v)
{
	if (!v || emit(f, v) < 0) {
		fputs("hoist: out of memory writing the JSON result\n", stderr);
	}
	fputc('\n', f);
	fflush(f);
	json_decref(v);
}

/* Building one object: each set_* adds a member; a failed allocation
 * (a NULL value) makes the whole object NULL at the end, so that nothing
 * half-built is printed as if complete. */
struct jobj {
	json_t *o;
	int failed;
};

static void set(struct jobj *j, const char *name, json_t *v)
{
	if (!j->o || json_object_set_new(j->o, name, v) < 0) {
		j->failed = 1;
	}
}

static json_t *jobj_done(struct jobj *j)
{
	if (j->failed) {
		json_decref(j->o);
		return NULL;
	}
	return j->o;
}

/* JSON has no NaN or infinity. */
static json_t *real(double v)
{
	return json_real(v != v || v > 1e300 || v < -1e300 ? 0 : v);
}

static json_t *part_json(const struct hoist_part_info *p)
{
	struct jobj j = { json_object(), 0 };

	set(&j, "part_number", json_integer(p->part_number));
	set(&j, "offset", cli_json_u64(p->offset));
	set(&j, "size", cli_json_u64(p->size));
	set(&j, "http_status", json_integer(p->http_status));
	set(&j, "request_id", cli_json_str(p->request_id));
	set(&j, "content_md5", cli_json_str(p->content_md5));
	set(&j, "etag", cli_json_str(p->etag));
	set(&j, "crc64", cli_json_u64(p->crc64));
	set(&j, "attempts", json_integer(p->attempts));
	set(&j, "seconds", real(p->seconds));
	set(&j, "s3_checksum", cli_json_str(p->s3_checksum ? p->s3_checksum : ""));
	set(&j, "s3_checksum_echoed", json_boolean(p->s3_checksum_echoed));
	return jobj_done(&j);
}

int cli_exit_code(hoist_status s)
{
	switch (s) {
	case HOIST_OK:
		return CLI_EXIT_OK;
	case HOIST_E_INVALID_ARG:
		return CLI_EXIT_USAGE;
	case HOIST_E_CHECKSUM:
		return CLI_EXIT_CHECKSUM;
	case HOIST_E_CALLBACK:
		return CLI_EXIT_CALLBACK;
	case HOIST_E_SOURCE_CHANGED:
		return CLI_EXIT_SOURCE_CHANGED;
	case HOIST_E_CANCELLED:
		return CLI_EXIT_CANCELLED;
	default:
		/* NOMEM, IO, NETWORK, THROTTLED, AUTH, NOT_FOUND, SERVER,
		 * TLS, INTERNAL, CONFLICT and any code added later: the
		 * transfer did not happen. */
		return CLI_EXIT_TRANSFER;
	}
}

json_t *cli_result_json(const struct hoist_result *r, int with_parts,
			const struct hoist_part_info *parts, size_t nparts)
{
	static const char *const verify[] = { "none", "response", "head", "parts", "etag",
					     "get_crc64", "get_md5", "expected", "get_s3sum",
					     "get_parts_md5" };
	struct jobj j = { json_object(), 0 };
	size_t i;

	set(&j, "status", json_string(cli_status_name(r->status)));
	set(&j, "exit_code", json_integer(cli_exit_code(r->status)));
	set(&j, "http_status", json_integer(r->http_status));
	set(&j, "request_id", cli_json_str(r->request_id));
	set(&j, "bucket", cli_json_str(r->bucket));
	set(&j, "key", cli_json_str(r->key));
	set(&j, "location", cli_json_str(r->location));
	set(&j, "etag", cli_json_str(r->etag));
	set(&j, "version_id", cli_json_str(r->version_id));
	set(&j, "upload_id", cli_json_str(r->upload_id));
	set(&j, "encoding_type", cli_json_str(r->encoding_type));
	set(&j, "callback_body", cli_json_str(r->callback_body));
	set(&j, "crc64", r->crc64_valid ? cli_json_u64(r->crc64) : json_null());
	set(&j, "verified",
	    json_string((unsigned)r->verified < sizeof(verify) / sizeof(verify[0])
				? verify[r->verified]
				: "none"));
	set(&j, "parts", json_integer(r->parts));
	set(&j, "part_size", cli_json_u64(r->part_size));
	set(&j, "bytes", cli_json_u64(r->bytes));
	set(&j, "bytes_sent", cli_json_u64(r->bytes_sent));
	set(&j, "retries", json_integer(r->retries));
	set(&j, "resumed_parts", json_integer(r->resumed_parts));
	set(&j, "seconds", real(r->seconds));
	/* Only a finished upload has a throughput; a failed one sent less
	 * than `bytes`. */
	set(&j, "throughput",
	    real(r->seconds > 0 && (r->status == HOIST_OK || r->status == HOIST_E_CALLBACK)
			 ? (double)r->bytes / r->seconds
			 : 0));
	set(&j, "ttfb", real(r->ttfb_seconds));
	set(&j, "part_p50", real(r->part_p50_seconds));
	set(&j, "part_p99", real(r->part_p99_seconds));
	set(&j, "error_code", cli_json_str(r->error_code));
	set(&j, "error_message", cli_json_str(r->error_message));
	set(&j, "error_request_id", cli_json_str(r->error_request_id));
	set(&j, "failed_operation", cli_json_str(r->failed_operation));
	set(&j, "failed_part", json_integer(r->failed_part));
	set(&j, "message", cli_json_str(r->message));
	if (with_parts) {
		json_t *list = json_array();

		for (i = 0; list && i < nparts; i++) {
			if (json_array_append_new(list, part_json(&parts[i])) < 0) {
				j.failed = 1;
			}
		}
		set(&j, "part_list", list);
	}
	return jobj_done(&j);
}

void cli_print_result_json(FILE *f, const struct hoist_result *r, int with_parts,
			   const struct hoist_part_info *parts, size_t nparts)
{
	cli_json_print(f, cli_result_json(r, with_parts, parts, nparts));
}

void cli_print_failure(const struct hoist_result *r, hoist_status s)
{
	const char *msg = r && r->message && *r->message ? r->message : NULL;

	fputs("hoist: ", stderr);
	if (msg) {
		/* One line, whatever the server put in its message. */
		for (; *msg; msg++) {
			fputc(*msg == '\n' || *msg == '\r' ? ' ' : *msg, stderr);
		}
		msg = r->message;
	} else {
		fputs(hoist_strerror(s), stderr);
		msg = "";
	}
	/* The engine's message names the server code and request id; should
	 * one be missing, the line still carries it, since it is what a
	 * support ticket needs. */
	if (r && r->error_code && *r->error_code && !strstr(msg, r->error_code)) {
		fputs(" [", stderr);
		cli_print_safe(stderr, r->error_code);
		fputc(']', stderr);
	}
	if (r && r->error_request_id && *r->error_request_id &&
	    !strstr(msg, r->error_request_id)) {
		fputs(" (request id ", stderr);
		cli_print_safe(stderr, r->error_request_id);
		fputc(')', stderr);
	}
	fputc('\n', stderr);
	fflush(stderr);
}
