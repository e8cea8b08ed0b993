/*
 * output.c - what hoist prints about a finished upload.
 *
 * Owns: the human printout (the seed's: per part with --verbose, then the
 * object's status, request id, bucket, key, location, ETag, encoding type,
 * CRC64, version id and how it was verified), the --json object whose field
 * names are a contract (engine/cli/JSON.md; the bench harness parses it),
 * the one failure line on stderr, and the escapers that keep keys and
 * server strings from breaking either form.  Secrets never reach here: the
 * result struct carries none.
 * Threading: cli_print_part runs on engine threads (one at a time per
 * upload, see hoist.h); everything else on the main thread.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

void cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':
			fputs("\\\"", f);
			p++;
			continue;
		case '\\':
			fputs("\\\\", f);
			p++;
			continue;
		case '\n':
			fputs("\\n", f);
			p++;
			continue;
		case '\r':
			fputs("\\r", f);
			p++;
			continue;
		case '\t':
			fputs("\\t", f);
			p++;
			continue;
		default:
			break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
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

/* JSON helpers: each writes `,"name":value` (first: no comma). */
static void jstr(FILE *f, int *first, const char *name, const char *v)
{
	fprintf(f, "%s\"%s\":", *first ? "" : ",", name);
	*first = 0;
	cli_json_string(f, v);
}

static void ju64(FILE *f, int *first, const char *name, uint64_t v)
{
	fprintf(f, "%s\"%s\":%" PRIu64, *first ? "" : ",", name, v);
	*first = 0;
}

static void jdbl(FILE *f, int *first, const char *name, double v)
{
	/* JSON has no NaN or infinity. */
	if (v != v || v > 1e300 || v < -1e300) {
		v = 0;
	}
	fprintf(f, "%s\"%s\":%.6f", *first ? "" : ",", name, v);
	*first = 0;
}

void cli_print_result_json(FILE *f, const struct hoist_result *r, int with_parts,
			   const struct hoist_part_info *parts, size_t nparts)
{
	static const char *const verify[] = { "none", "response", "head", "parts", "etag",
					     "get_crc64", "get_md5", "expected", "get_s3sum" };
	int first = 1;
	size_t i;

	fputc('{', f);
	jstr(f, &first, "status", cli_status_name(r->status));
	ju64(f, &first, "exit_code", (uint64_t)cli_exit_code(r->status));
	fprintf(f, ",\"http_status\":%ld", r->http_status);
	jstr(f, &first, "request_id", r->request_id);
	jstr(f, &first, "bucket", r->bucket);
	jstr(f, &first, "key", r->key);
	jstr(f, &first, "location", r->location);
	jstr(f, &first, "etag", r->etag);
	jstr(f, &first, "version_id", r->version_id);
	jstr(f, &first, "upload_id", r->upload_id);
	jstr(f, &first, "encoding_type", r->encoding_type);
	jstr(f, &first, "callback_body", r->callback_body);
	if (r->crc64_valid) {
		ju64(f, &first, "crc64", r->crc64);
	} else {
		fputs(",\"crc64\":null", f);
	}
	jstr(f, &first, "verified",
	     (unsigned)r->verified < sizeof(verify) / sizeof(verify[0]) ? verify[r->verified]
									  : "none");
	ju64(f, &first, "parts", r->parts);
	ju64(f, &first, "part_size", r->part_size);
	ju64(f, &first, "bytes", r->bytes);
	ju64(f, &first, "bytes_sent", r->bytes_sent);
	ju64(f, &first, "retries", r->retries);
	ju64(f, &first, "resumed_parts", r->resumed_parts);
	jdbl(f, &first, "seconds", r->seconds);
	/* Only a finished upload has a throughput; a failed one sent less
	 * than `bytes`. */
	jdbl(f, &first, "throughput",
	     r->seconds > 0 && (r->status == HOIST_OK || r->status == HOIST_E_CALLBACK)
		     ? (double)r->bytes / r->seconds
		     : 0);
	jdbl(f, &first, "ttfb", r->ttfb_seconds);
	jdbl(f, &first, "part_p50", r->part_p50_seconds);
	jdbl(f, &first, "part_p99", r->part_p99_seconds);
	jstr(f, &first, "error_code", r->error_code);
	jstr(f, &first, "error_message", r->error_message);
	jstr(f, &first, "error_request_id", r->error_request_id);
	jstr(f, &first, "failed_operation", r->failed_operation);
	ju64(f, &first, "failed_part", r->failed_part);
	jstr(f, &first, "message", r->message);
	if (with_parts) {
		fputs(",\"part_list\":[", f);
		for (i = 0; i < nparts; i++) {
			const struct hoist_part_info *p = &parts[i];
			int pf = 1;

			fputs(i ? ",{" : "{", f);
			ju64(f, &pf, "part_number", p->part_number);
			ju64(f, &pf, "offset", p->offset);
			ju64(f, &pf, "size", p->size);
			fprintf(f, ",\"http_status\":%ld", p->http_status);
			jstr(f, &pf, "request_id", p->request_id);
			jstr(f, &pf, "content_md5", p->content_md5);
			jstr(f, &pf, "etag", p->etag);
			ju64(f, &pf, "crc64", p->crc64);
			ju64(f, &pf, "attempts", p->attempts);
			jdbl(f, &pf, "seconds", p->seconds);
			jstr(f, &pf, "s3_checksum", p->s3_checksum ? p->s3_checksum : "");
			fprintf(f, ",\"s3_checksum_echoed\":%s", p->s3_checksum_echoed ? "true" : "false");
			fputc('}', f);
		}
		fputc(']', f);
	}
	fputs("}\n", f);
	fflush(f);
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
