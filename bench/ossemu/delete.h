/*
 * delete.h - the body of DeleteMultipleObjects (POST /?delete), OSS's and
 * S3's alike: <Delete><Quiet>true|false</Quiet><Object><Key>k</Key>
 * [<VersionId>v</VersionId>]</Object>...</Delete>, with or without an XML
 * prolog, keys XML-escaped (never URL-encoded: encoding-type=url applies
 * to the answer only).
 *
 * Threading: reentrant.
 */
#ifndef OSSEMU_DELETE_H
#define OSSEMU_DELETE_H

#include <stddef.h>

#include "errors.h"

/* S3 and OSS both take at most 1,000 keys per request. */
#define DELETE_MAX_KEYS 1000

struct delete_req {
	char **keys;   /* in request order, owned; never empty strings */
	size_t n;
	int quiet;
};

/* Parses a body.  E_OK with *out filled (clean it up), or
 * E_MALFORMED_XML with *ec set to OSS's EC for the case when it has one
 * (an <Object> without a <Key>: 0016-00000613, a bad <Quiet>:
 * 0016-00000610), else NULL. */
enum err_id delete_parse(const char *body, size_t len, struct delete_req *out, const char **ec);
void delete_req_cleanup(struct delete_req *d);

#endif
