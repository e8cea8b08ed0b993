/*
 * response.h - parsers for the XML bodies servers send back (private).
 *
 * Owns: Error, InitiateMultipartUploadResult, CompleteMultipartUploadResult
 * (which may also be an Error inside a 200), ListPartsResult and
 * ListMultipartUploadsResult, all through xml.h (expat, with its limits on
 * hostile input).  Keys come back percent-encoded when the request asked
 * for encoding-type=url; they are decoded here with curl's decoder.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions; results are owned by the caller.
 */
#ifndef HOIST_RESPONSE_H
#define HOIST_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

struct error_doc {
	char *code;
	char *message;
	char *request_id;
	char *ec;            /* OSS error code number, "0002-00000040" */
};
/* 0 when body is an <Error> document (fields filled, each may be NULL),
 * -1 otherwise. */
int response_parse_error(struct error_doc *e, const char *body, size_t len);
void error_doc_cleanup(struct error_doc *e);
/* The same from base64 text (OSS's x-oss-err header carries the Error
 * document so): 0 when it decodes to an <Error> document, -1 otherwise
 * (empty, over 64 KiB of text, not base64, not an Error, ENOMEM). */
int response_parse_error_b64(struct error_doc *e, const char *b64);

struct initiate_doc {
	char *bucket;
	char *key;           /* decoded */
	char *upload_id;
	char *encoding_type;
};
/* 0, or -1 when the body is not a result with an UploadId. */
int response_parse_initiate(struct initiate_doc *d, const char *body, size_t len);
void initiate_doc_cleanup(struct initiate_doc *d);

struct complete_doc {
	char *location;
	char *bucket;
	char *key;           /* decoded */
	char *etag;
	char *encoding_type;
	char *checksum_crc32c;    /* S3: the object's ChecksumCRC32C, if any */
	char *checksum_crc64nvme; /* S3: ChecksumCRC64NVME, if any */
	struct error_doc err; /* filled when the document is an <Error> */
};
/* 0: a CompleteMultipartUploadResult; 1: an <Error> (d->err filled), which
 * a server may send inside a 200; -1: neither (malformed or empty). */
int response_parse_complete(struct complete_doc *d, const char *body, size_t len);
void complete_doc_cleanup(struct complete_doc *d);

/* The listings hoist.h hands out as opaque handles. */
struct hoist_part_list {
	size_t count;
	struct hoist_part_entry *parts; /* ascending part numbers (a parsed list) */
	size_t cap;                /* hoist_part_list_add's capacity */
};
struct hoist_upload_list {
	size_t count;
	struct hoist_upload_entry *uploads;
};

/* One page of ListParts, appended to list. */
struct list_parts_page {
	int truncated;
	unsigned next_marker;
};
int response_parse_list_parts(struct hoist_part_list *list,
			      struct list_parts_page *page, const char *body,
			      size_t len);

struct list_uploads_page {
	int truncated;
	char *next_key_marker;        /* decoded */
	char *next_upload_id_marker;
};
int response_parse_list_uploads(struct hoist_upload_list *list,
				struct list_uploads_page *page,
				const char *body, size_t len);
void list_uploads_page_cleanup(struct list_uploads_page *p);

/* Percent-decodes s (no '+' to space); NULL on ENOMEM or an embedded NUL. */
char *url_decode(const char *s);
/* The same, embedded NULs kept: *len bytes (plus a terminating NUL), or
 * NULL on ENOMEM or a text longer than XML_MAX_TEXT. */
char *url_decode_bytes(const char *s, size_t *len);

#endif
