/*
 * route.c - which bucket, which key, which operation.
 *
 * Owns: addressing (path style, virtual-host style, and ali-oss's mix of
 * both), the mapping of method + sub-resources to an operation, and the
 * header and query lookups every handler uses (here rather than in http.c
 * so that fuzzers link them without libmicrohttpd).
 *
 * Threading: functions act on one request, on the thread that owns it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "req.h"

const char *req_header(const struct req *rq, const char *name)
{
	return kv_header(rq->headers, rq->nheaders, name);
}

const char *req_query(const struct req *rq, const char *name, int *present)
{
	return kv_query(rq->query, rq->nquery, name, present);
}

/* ---- addressing ------------------------------------------------------------ */

static char *strndup_or_null(const char *s, size_t n)
{
	return n ? strndup(s, n) : NULL;
}

/* True for "<bucket>.oss-<region>..." / "<bucket>.s3.<...>" / "<bucket>.s3-<...>"
 * names: the bucket is in the host even if it does not exist yet. */
static int host_is_service_vhost(const char *rest)
{
	return strncmp(rest, "oss-", 4) == 0 || strncmp(rest, "s3.", 3) == 0 ||
	       strncmp(rest, "s3-", 3) == 0;
}

/*
 * True when auth_check (auth.c) will read rq in the S3 dialect: an
 * Authorization scheme starting "AWS", else (no Authorization) a SigV4
 * presigned query, else (unsigned) an x-amz-* header.  Same order as
 * auth_check, which runs after addressing and so cannot be asked.
 */
static int addressed_as_s3(const struct req *rq)
{
	const char *auth = req_header(rq, "Authorization");
	int present;

	if (auth && *auth)
		return strncmp(auth, "AWS", 3) == 0;
	if (req_query(rq, "x-oss-signature-version", &present), present)
		return 0;
	if (req_query(rq, "OSSAccessKeyId", &present), present)
		return 0;
	if (req_query(rq, "X-Amz-Algorithm", &present), present)
		return 1;
	for (size_t i = 0; i < rq->nheaders; i++) {
		if (rq->headers[i].name && strncasecmp(rq->headers[i].name, "x-amz-", 6) == 0)
			return 1;
	}
	return 0;
}

/*
 * Path style: /bucket/key.  Virtual-host style: Host <bucket>.<anything>
 * where <bucket> is a known bucket or the rest is a service name.  ali-oss
 * with sldEnable against an IP endpoint sends *both*: Host
 * "<bucket>.oss-<region>.aliyuncs.com" and the path "/<bucket>/<key>".
 * That is ambiguous with a virtual-host request for key "<bucket>" or
 * "<bucket>/x" in bucket <bucket>, which any virtual-host client sends for
 * such keys.  The dialect breaks the tie: for OSS-signed and unsigned OSS
 * requests (the ali-oss case) path style wins, whether the bucket exists
 * or not, so a missing one gets NoSuchBucket; SigV4 and x-amz-* requests
 * stay virtual-host (the S3 SDKs never send the mix, and SigV4 signs the
 * raw path, so the wrong reading would verify and store under a wrong key).
 * The cost: an OSS-signed virtual-host request for such a key is read path
 * style and fails its signature check (403), never a silent misplacement.
 */
int req_resolve(struct req *rq)
{
	const char *path = rq->path && rq->path[0] == '/' ? rq->path + 1 : "";
	const char *slash = strchr(path, '/');
	size_t seg_len = slash ? (size_t)(slash - path) : strlen(path);
	const char *host = rq->host;
	const char *dot = strchr(host, '.');
	int ip = strspn(host, "0123456789.:") == strlen(host); /* 127.0.0.1:80 */
	char *vbucket = NULL;

	if (dot && dot != host && !ip) {
		char *label = strndup(host, (size_t)(dot - host));

		if (!label)
			return -1;
		if (store_bucket_exists(rq->srv->store, label) || host_is_service_vhost(dot + 1))
			vbucket = label;
		else
			free(label);
	}
	if (vbucket && (!(seg_len == strlen(vbucket) && strncmp(path, vbucket, seg_len) == 0) ||
			addressed_as_s3(rq))) {
		rq->bucket = vbucket;
		rq->key = strndup_or_null(path, strlen(path));
		return rq->key || !*path ? 0 : -1;
	}
	free(vbucket);
	rq->bucket = strndup_or_null(path, seg_len);
	if (seg_len && !rq->bucket)
		return -1;
	if (slash) {
		rq->key = strndup_or_null(slash + 1, strlen(slash + 1));
		if (slash[1] && !rq->key)
			return -1;
	}
	return 0;
}

/* ---- routing ----------------------------------------------------------------- */

/* Sub-resources ossemu does not implement: a request naming one gets
 * NotImplemented rather than being mistaken for a plain object request. */
static int has_unsupported_subresource(const struct req *rq, int bucket_level)
{
	static const char *const object_level[] = {
		"acl", "tagging", "symlink", "restore", "append", "position", "torrent",
		"retention", "legal-hold", "attributes", "x-oss-process", "select", "versions",
	};
	static const char *const bucket_extra[] = {
		"location", "versioning", "cors", "lifecycle", "policy", "logging", "website",
		"referer", "encryption", "bucketInfo", "stat", "replication", "worm",
	};

	for (size_t i = 0; i < rq->nquery; i++) {
		const char *n = rq->query[i].name;

		for (size_t j = 0; j < sizeof(object_level) / sizeof(*object_level); j++) {
			if (strcmp(n, object_level[j]) == 0)
				return 1;
		}
		for (size_t j = 0; bucket_level && j < sizeof(bucket_extra) / sizeof(*bucket_extra);
		     j++) {
			if (strcmp(n, bucket_extra[j]) == 0)
				return 1;
		}
	}
	return 0;
}

enum op req_route(const struct req *rq)
{
	const char *m = rq->method;
	int uploads, upload_id, part, del;

	req_query(rq, "uploads", &uploads);
	req_query(rq, "uploadId", &upload_id);
	req_query(rq, "partNumber", &part);
	if (!rq->bucket)
		return strcmp(m, "GET") == 0 ? OP_LIST_BUCKETS : OP_UNKNOWN;
	if (!rq->key) {
		if (has_unsupported_subresource(rq, 1))
			return OP_UNKNOWN;
		if (strcmp(m, "PUT") == 0)
			return OP_PUT_BUCKET;
		if (strcmp(m, "HEAD") == 0)
			return OP_HEAD_BUCKET;
		if (strcmp(m, "DELETE") == 0)
			return OP_DELETE_BUCKET;
		if (strcmp(m, "GET") == 0)
			return uploads ? OP_LIST_UPLOADS : OP_LIST_OBJECTS;
		if (strcmp(m, "POST") == 0 && (req_query(rq, "delete", &del), del))
			return OP_DELETE_MULTIPLE;
		return OP_UNKNOWN;
	}
	if (has_unsupported_subresource(rq, 0))
		return OP_UNKNOWN;
	if (strcmp(m, "POST") == 0) {
		if (uploads)
			return OP_INITIATE;
		return upload_id ? OP_COMPLETE : OP_UNKNOWN;
	}
	if (strcmp(m, "PUT") == 0) {
		/* CopyObject / UploadPartCopy are not implemented: never take
		 * their empty body for the object's bytes. */
		if (req_header(rq, "x-oss-copy-source") || req_header(rq, "x-amz-copy-source"))
			return OP_UNKNOWN;
		if (upload_id || part)
			return upload_id && part ? OP_UPLOAD_PART : OP_UNKNOWN;
		return OP_PUT_OBJECT;
	}
	if (strcmp(m, "GET") == 0)
		return upload_id ? OP_LIST_PARTS : OP_GET_OBJECT;
	if (strcmp(m, "HEAD") == 0)
		return OP_HEAD_OBJECT;
	if (strcmp(m, "DELETE") == 0)
		return upload_id ? OP_ABORT : OP_DELETE_OBJECT;
	return OP_UNKNOWN;
}
