/*
 * store.h - buckets, objects, multipart uploads and parts.
 *
 * Two modes.  With a data directory every part and object is a file written
 * fully, then renamed into place, next to a small metadata file (renamed
 * too), and a restart recovers buckets, objects and open uploads.  With
 * --discard only sizes and checksums are kept, in memory.
 *
 * The store never sees HTTP: callers pass decoded names and checksums they
 * computed while the body streamed in, and get enum err_id back.
 *
 * Threading: every function is thread-safe.  One mutex guards the index;
 * it is held for metadata work and renames, never while object bytes are
 * copied (Complete's assembly runs unlocked on the parts of an upload that
 * is marked "completing", which no other request may then change).
 */
#ifndef OSSEMU_STORE_H
#define OSSEMU_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "objopt.h"
#include "ossemu.h"

#define PART_NUMBER_MAX 10000
#define OSS_MIN_PART_SIZE 102400ULL
#define S3_MIN_PART_SIZE (5ULL * 1024 * 1024)

/* A header kept with an object (Content-Type, x-oss-meta-*, ...). */
struct hdr {
	char *name;
	char *value;
};

struct hdrs {
	struct hdr *v;
	size_t n;
};

int hdrs_add(struct hdrs *h, const char *name, const char *value);
int hdrs_copy(struct hdrs *dst, const struct hdrs *src);
const char *hdrs_get(const struct hdrs *h, const char *name);
void hdrs_cleanup(struct hdrs *h);

struct obj_info {
	uint64_t size;
	char etag[48];     /* without quotes: 32 hex digits, or "<32 hex>-N" */
	uint64_t crc64;    /* CRC-64/XZ of the whole object */
	int64_t mtime;     /* unix seconds, server clock */
	unsigned nparts;   /* 0: a PutObject object */
	uint64_t *psizes;  /* the nparts part sizes (GET ?partNumber=), owned */
	struct hdrs hdrs;  /* owned by whoever holds the struct */
	struct obj_opts opt; /* storage class, encryption, S3 checksum */
};

void obj_info_cleanup(struct obj_info *o);
/* Deep copy (hdrs and psizes).  0 or -1. */
int obj_info_copy(struct obj_info *dst, const struct obj_info *src);

struct part_info {
	unsigned num;
	uint64_t size;
	uint8_t md5[16];   /* the MD5, or with --discard the CRC stand-in */
	uint64_t crc64;
	int64_t mtime;
	unsigned char amz_alg; /* 0, or the x-amz-checksum CRC kind + 1 it came with */
	uint64_t amz_crc;      /* that CRC's value */
};

struct upload_entry {
	char *key;
	char id[33];
	int64_t initiated;
};

/* One page of a listing (store_list.c). */
struct list_query {
	const char *prefix;    /* "" or NULL: every key */
	const char *delimiter; /* NULL or "": no common prefixes */
	const char *after;     /* list what sorts after this (marker, start-after,
	                          a continuation token's key), or NULL */
	unsigned max;          /* items (keys + common prefixes) at most, <= 1000 */
};

struct list_item {
	char *key;             /* the key, or the common prefix (owned) */
	int is_prefix;
	uint64_t size;         /* keys only: */
	char etag[48];
	int64_t mtime;
	unsigned nparts;       /* 0: a PutObject object (<Type>Normal) */
	unsigned char sclass;  /* storage class (objopt.h) */
};

struct list_page {
	struct list_item *items;
	size_t n;
	int truncated;         /* more follow */
	char *next;            /* when truncated: the last item, to resume after */
};

struct complete_part {
	unsigned num;
	const char *etag;  /* as sent: quotes, case and entities already undone
	                      by the XML reader except the quotes */
};

struct complete_req {
	const struct complete_part *parts;
	size_t nparts;
	int all;           /* x-oss-complete-all: yes */
	enum dialect dialect; /* limits and the final ETag formula */
	int forbid_overwrite;
	struct hdrs *hdrs; /* extra headers for the object, or NULL */
};

/* Opens (and recovers) the store described by cfg; creates cfg->buckets. */
struct store *store_open(const struct ossemu_config *cfg, char *err, size_t errlen);
void store_close(struct store *s);
void store_counts(struct store *s, uint64_t *objects, uint64_t *uploads);
int store_keeps_data(const struct store *s);

/* A new temp file for a body; returns an fd (write only) and the malloc'd
 * path in *path, or -1.  Only with a data directory. */
int store_tmp_open(struct store *s, char **path);

int store_bucket_exists(struct store *s, const char *bucket);
enum err_id store_bucket_create(struct store *s, const char *bucket);
enum err_id store_bucket_delete(struct store *s, const char *bucket);
/* Sorted names (malloc'd array of malloc'd strings; free with
 * store_strings_free). */
char **store_bucket_names(struct store *s, size_t *n);
void store_strings_free(char **v, size_t n);

/* Objects.  store_object_put takes over info->hdrs (cleared on return) and
 * renames tmp_path into place (or unlinks it on error; NULL with
 * --discard). */
enum err_id store_object_put(struct store *s, const char *bucket, const char *key,
			     struct obj_info *info, const char *tmp_path, int forbid_overwrite);
/* Fills *out (caller cleans it up) and, with a data directory, opens the
 * object's bytes into *fd (caller closes); *fd = -1 with --discard. */
enum err_id store_object_open(struct store *s, const char *bucket, const char *key,
			      struct obj_info *out, int *fd);
enum err_id store_object_delete(struct store *s, const char *bucket, const char *key);
/* One page of keys and common prefixes in byte order of keys (see
 * store_list.c); pg is the caller's to clean up. */
enum err_id store_object_list(struct store *s, const char *bucket, const struct list_query *q,
			      struct list_page *pg);
void list_page_cleanup(struct list_page *pg);

/* Uploads. */
/* Takes over *hdrs (cleared on return); opt is copied. */
enum err_id store_upload_create(struct store *s, const char *bucket, const char *key,
				struct hdrs *hdrs, const struct obj_opts *opt,
				int forbid_overwrite, char id[33]);
/* E_OK with the options the upload was created with (parts inherit the
 * encryption), else as store_upload_check. */
enum err_id store_upload_opts(struct store *s, const char *bucket, const char *key,
			      const char *id, struct obj_opts *out);
/* E_OK if the upload exists, belongs to key and is not being completed. */
enum err_id store_upload_check(struct store *s, const char *bucket, const char *key,
			       const char *id);
/* Records a part (replacing one with the same number): renames tmp_path
 * into place, or unlinks it on error. */
enum err_id store_part_put(struct store *s, const char *bucket, const char *key,
			   const char *id, const struct part_info *pi, const char *tmp_path);
/* Parts numbered > marker, at most max of them, ascending; *truncated if
 * more follow.  *out is malloc'd. */
enum err_id store_parts_list(struct store *s, const char *bucket, const char *key,
			     const char *id, unsigned marker, unsigned max,
			     struct part_info **out, size_t *n, int *truncated);
enum err_id store_upload_abort(struct store *s, const char *bucket, const char *key,
			       const char *id);
/* All uploads of a bucket sorted by (key, id). */
enum err_id store_uploads_list(struct store *s, const char *bucket,
			       struct upload_entry **out, size_t *n);
void upload_entries_free(struct upload_entry *v, size_t n);

/* Validates the part list, assembles the object (by copying the part
 * files, unlocked), commits it and forgets the upload.  On E_OK, *out is
 * the new object (caller cleans it up).  On an error, *bad_part may name the
 * offending part number (0 if none). */
enum err_id store_upload_complete(struct store *s, const char *bucket, const char *key,
				  const char *id, const struct complete_req *req,
				  struct obj_info *out, unsigned *bad_part);

/* The ETag text of a part (32 hex digits, upper case for OSS, lower for S3). */
void part_etag(char out[33], const struct part_info *pi, enum dialect d);
/* With --discard and no MD5: a stand-in digest derived from the CRC64 and
 * the size.  Benchmark-only; it is not an MD5 of anything. */
void discard_etag_digest(uint8_t out[16], uint64_t crc64, uint64_t size);

#endif
