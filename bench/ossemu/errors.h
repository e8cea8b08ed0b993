/*
 * errors.h - the error codes ossemu answers with, in both dialects.
 *
 * One table (errors.c) maps each error to its HTTP status, its OSS code, its
 * S3 code, message and OSS "EC" detail code, so no handler spells a code by
 * hand and the two dialects cannot drift apart.  ECs come from
 * docs/oss-protocol.md where it gives one; where the real EC is not known the
 * table says "0000-00000<status>" rather than inventing a plausible one.
 *
 * Threading: the table is constant; err_render is reentrant.
 */
#ifndef OSSEMU_ERRORS_H
#define OSSEMU_ERRORS_H

#include "buf.h"
#include "ossemu.h"

/* X(id, http status, OSS code, S3 code, EC, message).  The status and
 * message are OSS's; the few errors S3 answers differently (a 400 where OSS
 * says 403, its own wording) are listed in errors.c. */
#define OSSEMU_ERRORS(X)                                                                   \
	X(E_OK, 200, "", "", "", "")                                                       \
	X(E_ACCESS_DENIED, 403, "AccessDenied", "AccessDenied", "0003-00000001",           \
	  "You have no right to access this object.")                                     \
	X(E_ANONYMOUS_DENIED, 403, "AccessDenied", "AccessDenied", "0003-00000001",        \
	  "Anonymous access is forbidden for this operation (start ossemu with --anonymous).") \
	X(E_REQUEST_EXPIRED, 403, "AccessDenied", "AccessDenied", "0000-00000403",         \
	  "Request has expired.")                                                          \
	X(E_MISSING_DATE, 403, "AccessDenied", "AccessDenied", "0002-00000503",            \
	  "The request must carry a valid Date or x-oss-date header.")                     \
	X(E_INVALID_ACCESS_KEY_ID, 403, "InvalidAccessKeyId", "InvalidAccessKeyId",        \
	  "0002-00000040",                                                                 \
	  "The OSS Access Key Id you provided does not exist in our records.")             \
	X(E_SIGNATURE_MISMATCH, 403, "SignatureDoesNotMatch", "SignatureDoesNotMatch",     \
	  "0002-00000040",                                                                 \
	  "The request signature we calculated does not match the signature you provided. " \
	  "Check your key and signing method.")                                            \
	X(E_TIME_SKEWED, 403, "RequestTimeTooSkewed", "RequestTimeTooSkewed",              \
	  "0000-00000403",                                                                 \
	  "The difference between the request time and the current time is too large.")    \
	X(E_INVALID_TOKEN, 403, "InvalidSecurityToken", "InvalidToken", "0002-00000006",   \
	  "The security token you provided is invalid.")                                   \
	X(E_TOKEN_EXPIRED, 403, "SecurityTokenExpired", "ExpiredToken", "0002-00000007",   \
	  "The security token you provided has expired.")                                  \
	X(E_AUTH_MALFORMED, 400, "InvalidArgument", "AuthorizationHeaderMalformed",        \
	  "0000-00000400", "The authorization header is malformed.")                       \
	X(E_AUTH_UNSUPPORTED, 400, "InvalidArgument", "InvalidRequest", "0000-00000400",   \
	  "The authorization mechanism you have provided is not supported.")               \
	X(E_MISSING_CONTENT_SHA256, 400, "InvalidArgument", "InvalidRequest",              \
	  "0000-00000400", "Missing required header for this request: x-amz-content-sha256") \
	X(E_CONTENT_SHA256_MISMATCH, 400, "InvalidDigest", "XAmzContentSHA256Mismatch",     \
	  "0017-00000503",                                                                 \
	  "The provided 'x-amz-content-sha256' header does not match what was computed.")  \
	X(E_NO_SUCH_BUCKET, 404, "NoSuchBucket", "NoSuchBucket", "0015-00000101",          \
	  "The specified bucket does not exist.")                                          \
	X(E_BUCKET_NOT_EMPTY, 409, "BucketNotEmpty", "BucketNotEmpty", "0000-00000409",    \
	  "The bucket you tried to delete is not empty.")                                  \
	X(E_INVALID_BUCKET_NAME, 400, "InvalidBucketName", "InvalidBucketName",            \
	  "0000-00000400", "The specified bucket is not valid.")                           \
	X(E_NO_SUCH_KEY, 404, "NoSuchKey", "NoSuchKey", "0000-00000404",                   \
	  "The specified key does not exist.")                                             \
	X(E_NO_SUCH_UPLOAD, 404, "NoSuchUpload", "NoSuchUpload", "0042-00000104",          \
	  "The specified upload does not exist. The upload ID may be invalid, or the "     \
	  "upload may have been aborted or completed.")                                    \
	X(E_INVALID_ARGUMENT, 400, "InvalidArgument", "InvalidArgument", "0000-00000400",  \
	  "Invalid argument.")                                                             \
	X(E_INVALID_DIGEST, 400, "InvalidDigest", "BadDigest", "0017-00000503",            \
	  "The Content-MD5 you specified did not match what we received.")                 \
	X(E_MALFORMED_DIGEST, 400, "InvalidDigest", "InvalidDigest", "0017-00000502",      \
	  "The Content-MD5 you specified is not valid.")                                   \
	X(E_BAD_CHECKSUM, 400, "InvalidDigest", "BadDigest", "0017-00000503",              \
	  "The checksum you specified did not match what we received.")                    \
	X(E_INVALID_PART, 400, "InvalidPart", "InvalidPart", "0000-00000400",              \
	  "One or more of the specified parts could not be found or the specified entity " \
	  "tag might not have matched the part's entity tag.")                             \
	X(E_INVALID_PART_ORDER, 400, "InvalidPartOrder", "InvalidPartOrder",               \
	  "0042-00000209",                                                                 \
	  "The list of parts was not in ascending order. Parts must be ordered by part number.") \
	X(E_ENTITY_TOO_SMALL, 400, "EntityTooSmall", "EntityTooSmall", "0042-00000213",    \
	  "Your proposed upload is smaller than the minimum allowed size.")                \
	X(E_ENTITY_TOO_LARGE, 400, "EntityTooLarge", "EntityTooLarge", "0000-00000400",    \
	  "Your proposed upload exceeds the maximum allowed size.")                        \
	X(E_MALFORMED_XML, 400, "MalformedXML", "MalformedXML", "0042-00000205",           \
	  "The XML you provided was not well-formed or did not validate against our "      \
	  "published schema.")                                                             \
	X(E_COMPLETE_ALL_BODY, 400, "InvalidArgument", "InvalidArgument", "0042-00000216", \
	  "Should not speficy both complete all header and http body.")                    \
	X(E_FILE_EXISTS, 409, "FileAlreadyExists", "FileAlreadyExists", "0042-00000214",   \
	  "The object you specified already exists and can not be overwritten.")           \
	X(E_PRECONDITION_FAILED, 412, "PreconditionFailed", "PreconditionFailed",          \
	  "0000-00000412", "At least one of the pre-conditions you specified did not hold.") \
	X(E_CALLBACK_FAILED, 203, "CallbackFailed", "CallbackFailed", "0007-00000203",     \
	  "Error status : -1.")                                                            \
	X(E_CALLBACK_INVALID, 400, "InvalidArgument", "InvalidArgument", "0007-00000004",  \
	  "The callback configuration is not json format.")                                \
	X(E_INVALID_PART_NUMBER, 416, "InvalidPartNumber", "InvalidPartNumber",             \
	  "0000-00000416", "The requested partnumber is not satisfiable.")                 \
	X(E_INVALID_RANGE, 416, "InvalidRange", "InvalidRange", "0000-00000416",           \
	  "The requested range cannot be satisfied.")                                      \
	X(E_INVALID_OBJECT_STATE, 403, "InvalidObjectState", "InvalidObjectState",         \
	  "0000-00000403", "The operation is not valid for the object's state")            \
	X(E_INVALID_STORAGE_CLASS, 400, "InvalidArgument", "InvalidStorageClass",          \
	  "0000-00000400", "The storage class you specified is not valid.")                \
	X(E_INVALID_REQUEST, 400, "InvalidArgument", "InvalidRequest", "0000-00000400",    \
	  "Invalid request.")                                                              \
	X(E_MISSING_CONTENT_MD5, 400, "MissingArgument", "InvalidRequest", "0016-00000606",  \
	  "Missing required header for this request: Content-MD5")                        \
	X(E_INVALID_ENCRYPTION, 400, "InvalidEncryptionAlgorithmError", "InvalidArgument", \
	  "0000-00000400", "The encryption request you specified is not valid.")           \
	X(E_SSEC_REQUIRED, 400, "InvalidRequest", "InvalidRequest", "0000-00000400",       \
	  "The object was stored using a form of Server Side Encryption. The correct "     \
	  "parameters must be provided to retrieve the object.")                           \
	X(E_SSEC_MISMATCH, 403, "AccessDenied", "AccessDenied", "0000-00000403",           \
	  "The calculated MD5 hash of the key did not match the hash that was provided.")  \
	X(E_INCOMPLETE_BODY, 400, "IncompleteBody", "IncompleteBody", "0000-00000400",     \
	  "You did not provide the number of bytes specified by the Content-Length HTTP header.") \
	X(E_TOO_LARGE_BODY, 400, "InvalidArgument", "MaxMessageLengthExceeded",            \
	  "0000-00000400", "The request body is too large.")                               \
	X(E_DISCARDED, 501, "NotImplemented", "NotImplemented", "0000-00000501",           \
	  "ossemu runs with --discard and keeps no object data, so it cannot be read back.") \
	X(E_NOT_IMPLEMENTED, 501, "NotImplemented", "NotImplemented", "0000-00000501",     \
	  "This operation is not implemented by ossemu.")                                  \
	X(E_METHOD_NOT_ALLOWED, 405, "MethodNotAllowed", "MethodNotAllowed",               \
	  "0000-00000405", "The specified method is not allowed against this resource.")   \
	X(E_INTERNAL, 500, "InternalError", "InternalError", "0000-00000500",              \
	  "We encountered an internal error. Please try again.")                           \
	X(E_SLOW_DOWN, 503, "SlowDown", "SlowDown", "0000-00000503",                       \
	  "Please reduce your request rate.")

enum err_id {
#define OSSEMU_ERR_ENUM(id, st, oc, sc, ec, msg) id,
	OSSEMU_ERRORS(OSSEMU_ERR_ENUM)
#undef OSSEMU_ERR_ENUM
	E_COUNT
};

/* Optional per-response details, all BORROWED for the call. */
struct err_extra {
	const char *message;        /* overrides the table's message */
	const char *arg_name;       /* InvalidArgument: ArgumentName/ArgumentValue */
	const char *arg_value;
	const char *bucket;         /* BucketName */
	const char *key;            /* Key */
	const char *upload_id;      /* UploadId */
	const char *sig_provided;   /* SignatureProvided */
	const char *string_to_sign; /* StringToSign (only when no secret token in it) */
	const char *ak;             /* OSSAccessKeyId / AWSAccessKeyId */
	const char *ec;             /* overrides the table's EC */
	const char *security_token; /* SecurityToken: OSS echoes an expired one */
	const char *storage_class;  /* StorageClass (S3 InvalidObjectState) */
};

unsigned err_status(enum err_id e, enum dialect d);
const char *err_code(enum err_id e, enum dialect d);
const char *err_ec(enum err_id e);

/* Appends the error document for dialect d to out: OSS
 * <Error><Code><Message><RequestId><HostId>[extras]<EC></Error>, S3 the same
 * without EC.  Returns 0 or -1 (ENOMEM). */
int err_render(struct buf *out, enum err_id e, enum dialect d, const char *request_id,
	       const char *host_id, const struct err_extra *x);

#endif
