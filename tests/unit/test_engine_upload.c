/*
 * test_engine_upload.c - the engine end to end through the public API,
 * against a real ossemu process over HTTP on 127.0.0.1 (port 0).
 *
 * Every upload is read back with an unsigned GET (ossemu --anonymous) and
 * compared byte for byte, and the engine's CRC64 is compared with a
 * bitwise CRC-64/XZ written here, independent of ISA-L.  Also: checksum
 * modes, pread/mmap, V1/V4, complete-all, errors (wrong secret, missing
 * bucket, unreachable endpoint, unreadable file), cancel, resume from the
 * journal, a file truncated under an mmap upload, progress and per-part
 * callbacks, and the pinned, named threads.
 *
 * OSSEMU_BIN names the server (default build/ossemu); HOIST_SUITE=asan or
 * tsan scales the sizes down.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "hoist.h"

static char tmpdir[64];
static char url[256];
static pid_t server_pid = -1;
static int slow;

/* ---------------------------------------------------- independent CRC */

static uint64_t crc64_bitwise(uint64_t crc, const unsigned char *p, size_t n)
{
	size_t i;
	int k;

	crc = ~crc;
	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xC96C5795D7870F42ULL & (0 - (crc & 1)));
	}
	return ~crc;
}

/* CRC-32C and CRC-64/NVME (S3's x-amz-checksum-crc32c / -crc64nvme),
 * bitwise, reflected, init and xorout all ones. */
static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0 - (crc & 1)));
	}
	return ~crc;
}

static uint64_t crc64nvme_bitwise(const unsigned char *p, size_t n)
{
	uint64_t crc = ~0ULL;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x9A6C9329AC4BC9B5ULL & (0 - (crc & 1)));
	}
	return ~crc;
}

/* The header value S3 wants: base64 of the big-endian CRC (OpenSSL's
 * encoder, not the engine's). */
static void s3sum_expected(char out[16], int algo, const unsigned char *p, size_t n)
{
	unsigned char be[8];
	uint64_t v = algo == HOIST_S3_CHECKSUM_CRC32C ? crc32c_bitwise(p, n) : crc64nvme_bitwise(p, n);
	int w = algo == HOIST_S3_CHECKSUM_CRC32C ? 4 : 8, i;

	for (i = 0; i < w; i++)
		be[i] = (unsigned char)(v >> (8 * (w - 1 - i)));
	EVP_EncodeBlock((unsigned char *)out, be, w);
}

/* ------------------------------------------------------------- server */

static int start_server(const char *extra)
{
	const char *bin = getenv("OSSEMU_BIN");
	char cmd[1024], line[256];
	int pfd[2];
	FILE *f;
	size_t n;

	if (!bin)
		bin = "build/ossemu";
	if (pipe(pfd) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "exec %s --host 127.0.0.1 --port 0 --bucket bkt --key ak:sk --anonymous "
		 "--data-dir %s/data %s",
		 bin, tmpdir, extra ? extra : "");
	server_pid = fork();
	if (server_pid == 0) {
		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		print_error("ossemu did not start: %s\n", cmd);
		return -1;
	}
	/* Keep the pipe open (the server may write more); leak it. */
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (strncmp(line, "ossemu listening on ", 20) != 0) {
		print_error("unexpected first line: %s\n", line);
		return -1;
	}
	snprintf(url, sizeof(url), "%s", line + 20);
	return 0;
}

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

static int group_setup(void **state)
{
	char dd[128];
	const char *suite = getenv("HOIST_SUITE");

	(void)state;
	slow = suite && (strcmp(suite, "asan") == 0 || strcmp(suite, "tsan") == 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hoist-upload-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(dd, sizeof(dd), "%s/data", tmpdir);
	mkdir(dd, 0700);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return start_server(NULL);
}

static int group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	stop_server();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- helpers */

/* hoist_engine_new with its failure line copied into err (and the result
 * checked to be a cleaned-up, reusable one afterwards). */
static hoist_status new_engine(struct hoist_engine **e, const struct hoist_engine_options *o,
			       char *err, size_t errlen)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st = hoist_engine_new(e, o, &r);

	snprintf(err, errlen, "%s", r.message ? r.message : "");
	if (st != HOIST_OK) {
		assert_int_equal(r.status, st);
		assert_non_null(r.message);
	}
	hoist_result_cleanup(&r);
	assert_int_equal(r.version, HOIST_RESULT_VERSION);
	assert_null(r.message);
	return st;
}

static struct hoist_engine *engine_with(const char *endpoint, const char *sk,
					enum hoist_signature sig, unsigned attempts)
{
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_engine *e = NULL;
	char err[256];

	o.endpoint = endpoint;
	o.region = "cn-hangzhou";
	o.access_key_id = "ak";
	o.access_key_secret = sk;
	o.signature = sig;
	o.max_attempts = attempts;
	o.retry_base_ms = 20;
	o.connect_timeout_ms = 2000;
	if (new_engine(&e, &o, err, sizeof(err)) != HOIST_OK) {
		print_error("engine: %s\n", err);
		return NULL;
	}
	return e;
}

/* A file of pseudo-random bytes; returns its path (static buffer). */
static const char *make_file(const char *name, uint64_t size, uint32_t seed)
{
	static char path[256];
	unsigned char buf[65536];
	uint64_t left = size;
	uint32_t x = seed * 2654435761u + 1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf), i;

		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (unsigned char)x;
		}
		assert_int_equal(fwrite(buf, 1, n, f), n);
		left -= n;
	}
	fclose(f);
	return path;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	assert_non_null(p);
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

struct mem {
	unsigned char *p;
	size_t n;
};

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
	struct mem *m = ud;
	unsigned char *np = realloc(m->p, m->n + s * n + 1);

	if (!np)
		return 0;
	m->p = np;
	memcpy(m->p + m->n, d, s * n);
	m->n += s * n;
	return s * n;
}

/* GET the object without signing; returns the HTTP status. */
static long get_object(const char *key, struct mem *m)
{
	CURL *h = curl_easy_init();
	char *ek = curl_easy_escape(h, key, 0);
	char u[2048];
	long code = 0;
	char *p;

	/* Keep '/' as a separator, as hoist does. */
	snprintf(u, sizeof(u), "%s/bkt/", url);
	for (p = ek; *p; p++) {
		size_t l = strlen(u);
		char c = *p;

		if (strncmp(p, "%2F", 3) == 0) {
			c = '/';
			p += 2;
		}
		if (l + 1 < sizeof(u)) {
			u[l] = c;
			u[l + 1] = '\0';
		}
	}
	curl_free(ek);
	memset(m, 0, sizeof(*m));
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

struct cbstate {
	uint64_t last;
	uint64_t total;
	unsigned calls;
	unsigned parts;
	int monotonic;
	uint64_t incsum;
	/* Set by the main thread after start while the loop may already
	 * report progress: atomic. */
	_Atomic(struct hoist_upload *) cancel_me;
	uint64_t cancel_after;
	const char *truncate_path;
	unsigned cancel_parts;   /* cancel once this many parts are done */
	/* S3 checksums: each part's value checked against the file. */
	const unsigned char *data;
	int s3algo;
	unsigned s3_ok;
	unsigned s3_echoed;
};

static void on_progress(uint64_t inc, uint64_t transferred, uint64_t total,
			unsigned inflight, void *ud)
{
	struct cbstate *s = ud;

	(void)inflight;
	s->calls++;
	if (transferred < s->last || inc != transferred - s->last)
		s->monotonic = 0;
	s->incsum += inc;
	s->last = transferred;
	s->total = total;
	if (s->cancel_after && transferred >= s->cancel_after) {
		struct hoist_upload *u = atomic_exchange(&s->cancel_me, NULL);

		if (u)
			hoist_upload_cancel(u);
	}
}

static void on_part(const struct hoist_part_info *p, void *ud)
{
	struct cbstate *s = ud;

	assert_true(p->part_number >= 1);
	assert_true(p->etag && *p->etag);
	s->parts++;
	if (s->s3algo && s->data) {
		char want[16];

		s3sum_expected(want, s->s3algo, s->data + p->offset, (size_t)p->size);
		if (p->s3_checksum && strcmp(p->s3_checksum, want) == 0)
			s->s3_ok++;
		if (p->s3_checksum_echoed)
			s->s3_echoed++;
	} else {
		assert_string_equal(p->s3_checksum, "");
		assert_false(p->s3_checksum_echoed);
	}
	if (s->cancel_parts && s->parts >= s->cancel_parts) {
		struct hoist_upload *u = atomic_exchange(&s->cancel_me, NULL);

		if (u)
			hoist_upload_cancel(u);
	}
	if (s->truncate_path && truncate(s->truncate_path, 4096) == 0)
		s->truncate_path = NULL;
}


static void md5_of(unsigned char out[16], const unsigned char *p, size_t n)
{
	unsigned int len = 16;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_md5(), NULL), 1);
}

static void hex(char *out, const unsigned char *p, size_t n, int upper)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", p[i]);
}

/* The ETag the server must have given the object, computed here with
 * OpenSSL directly: the MD5 for one PUT; for multipart OSS hashes the
 * upper-case hex of each part MD5, S3 the raw digests. */
static void expected_etag(char *out, size_t outlen, const unsigned char *data, size_t len,
			  uint64_t part, unsigned nparts, int s3)
{
	unsigned char d[16];
	char h[33];

	if (nparts == 0) {
		md5_of(d, data, len);
		hex(h, d, 16, !s3);
		snprintf(out, outlen, "\"%s\"", h);
		return;
	}
	{
		unsigned char *cat = malloc((size_t)nparts * 32);
		size_t w = 0;
		unsigned i;

		for (i = 0; i < nparts; i++) {
			size_t off = (size_t)(i * part), n = len - off < part ? len - off : (size_t)part;

			md5_of(d, data + off, n);
			if (s3) {
				memcpy(cat + w, d, 16);
				w += 16;
			} else {
				hex((char *)h, d, 16, 1);
				memcpy(cat + w, h, 32);
				w += 32;
			}
		}
		md5_of(d, cat, w);
		free(cat);
		hex(h, d, 16, !s3);
		snprintf(out, outlen, "\"%s-%u\"", h, nparts);
	}
}

/* Uploads path as key and checks everything a caller can check. */
static void upload_and_verify_d(struct hoist_engine *e, const char *path, const char *key,
				const struct hoist_upload_options *base, int s3)
{
	char want_etag[64];
	struct hoist_upload_options o = *base;
	struct hoist_result r;
	struct cbstate cb = { .monotonic = 1 };
	struct mem m;
	size_t len;
	unsigned char *data = slurp(path, &len);
	uint64_t want_crc = crc64_bitwise(0, data, len);
	hoist_status st;

	o.bucket = "bkt";
	o.key = key;
	o.progress = on_progress;
	o.on_part = on_part;
	o.userdata = &cb;
	cb.data = data;
	cb.s3algo = o.s3_checksum;
	memset(&r, 0, sizeof(r));
	st = hoist_upload_file(e, path, &o, &r);
	if (st != HOIST_OK)
		print_error("%s: %s\n", key, r.message ? r.message : hoist_strerror(st));
	assert_int_equal(st, HOIST_OK);
	assert_int_equal(r.status, HOIST_OK);
	assert_true(r.bytes == len);
	assert_string_equal(r.bucket, "bkt");
	assert_string_equal(r.key, key);
	assert_non_null(r.etag);
	if (o.checksum == HOIST_CHECKSUM_BOTH || o.checksum == HOIST_CHECKSUM_CRC64) {
		assert_true(r.crc64_valid);
		if (r.crc64 != want_crc)
			print_error("crc %llu want %llu\n", (unsigned long long)r.crc64,
				    (unsigned long long)want_crc);
		assert_true(r.crc64 == want_crc);
		/* S3 servers report no CRC64: the object's ETag is what
		 * checks it (with MD5 on), or nothing does. */
		if (s3)
			assert_int_equal(r.verified, o.checksum == HOIST_CHECKSUM_BOTH
							     ? HOIST_VERIFY_ETAG
							     : HOIST_VERIFY_NONE);
		else
			assert_true(r.verified == HOIST_VERIFY_RESPONSE ||
				    r.verified == HOIST_VERIFY_HEAD);
	} else {
		assert_false(r.crc64_valid);
		assert_int_equal(r.verified, o.checksum == HOIST_CHECKSUM_MD5 ? HOIST_VERIFY_ETAG
									       : HOIST_VERIFY_NONE);
	}
	if (r.parts) {
		assert_non_null(r.upload_id);
		assert_int_equal(cb.parts, r.parts);
		/* Every part sent its x-amz-checksum-* right, and ossemu (which
		 * refuses a wrong one with BadDigest) echoed it back. */
		if (cb.s3algo) {
			assert_int_equal(cb.s3_ok, r.parts);
			assert_int_equal(cb.s3_echoed, r.parts);
		}
		assert_true(r.parts == (len + r.part_size - 1) / r.part_size);
	} else {
		assert_true(len <= r.part_size);
	}
	/* Progress: monotonic, increments add up, ends at the total. */
	assert_true(cb.calls >= 1);
	assert_true(cb.monotonic);
	assert_true(cb.last == len && cb.incsum == len && cb.total == len);
	assert_true(r.bytes_sent >= len);

	expected_etag(want_etag, sizeof(want_etag), data, len, r.part_size, r.parts, s3);
	assert_string_equal(r.etag, want_etag);

	assert_int_equal(get_object(key, &m), 200);
	assert_true(m.n == len);
	if (len)
		assert_memory_equal(m.p, data, len);
	free(m.p);
	free(data);
	hoist_result_cleanup(&r);
}

static void upload_and_verify(struct hoist_engine *e, const char *path, const char *key,
			      const struct hoist_upload_options *base)
{
	upload_and_verify_d(e, path, key, base, 0);
}

/* --------------------------------------------------------------- tests */

static void test_sizes(void **state)
{
	static const uint64_t part = 102400;
	/* 64 KiB and one byte more: hashed on the loop, and by the pool. */
	const uint64_t sizes[] = { 0,      1,      65536,  65537, 102399,
				   102400, 102401, 3 * part + 7, 2 * 1024 * 1024 + 5 };
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	char name[64];
	size_t i;

	(void)state;
	assert_non_null(e);
	o.part_size = part;
	o.jobs = 8;
	o.no_resume = 1;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		upload_and_verify(e, make_file(name, sizes[i], (uint32_t)i + 1), name, &o);
	}
	hoist_engine_free(e);
}

static void test_modes(void **state)
{
	static const enum hoist_checksum modes[] = { HOIST_CHECKSUM_BOTH, HOIST_CHECKSUM_CRC64,
						     HOIST_CHECKSUM_MD5, HOIST_CHECKSUM_NONE };
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *v1 = engine_with(url, "sk", HOIST_SIGNATURE_V1, 0);
	struct hoist_engine *v4 = engine_with(url, "sk", HOIST_SIGNATURE_V4, 0);
	const char *path = make_file("modes", slow ? 700 * 1024 + 3 : 3 * 1024 * 1024 + 11, 7);
	char key[96];
	size_t i;
	int io, sig;

	(void)state;
	assert_non_null(v1);
	assert_non_null(v4);
	o.part_size = 256 * 1024;
	o.no_resume = 1;
	for (sig = 0; sig < 2; sig++) {
		for (io = 0; io < 2; io++) {
			for (i = 0; i < 4; i++) {
				o.checksum = modes[i];
				o.io = io ? HOIST_IO_MMAP : HOIST_IO_PREAD;
				o.jobs = (unsigned)(1 + 3 * i);
				snprintf(key, sizeof(key), "modes/sig%d io%d c%zu é +%%", sig, io, i);
				upload_and_verify(sig ? v4 : v1, path, key, &o);
			}
		}
	}
	/* complete-all, and a small PutObject through both signatures. */
	o.checksum = HOIST_CHECKSUM_BOTH;
	o.complete_all = 1;
	upload_and_verify(v4, path, "modes/complete-all", &o);
	upload_and_verify(v1, path, "modes/complete-all-v1", &o);
	hoist_engine_free(v1);
	hoist_engine_free(v4);
}

static void test_wrong_secret(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with(url, "not-the-secret", HOIST_SIGNATURE_DEFAULT, 0);
	const char *path = make_file("ws", 300 * 1024, 3);
	struct hoist_result r;

	(void)state;
	o.bucket = "bkt";
	o.key = "ws";
	o.part_size = 102400;
	o.no_resume = 1;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, path, &o, &r), HOIST_E_AUTH);
	assert_non_null(r.message);
	assert_non_null(strstr(r.message, "SignatureDoesNotMatch"));
	assert_non_null(strstr(r.message, "request id"));
	assert_null(strstr(r.message, "not-the-secret"));
	assert_string_equal(r.error_code, "SignatureDoesNotMatch");
	assert_non_null(r.error_request_id);
	assert_int_equal(r.http_status, 403);
	assert_int_equal(r.retries, 0); /* never retried */
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
}

static void test_missing_bucket(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	const char *path = make_file("mb", 1000, 4);
	struct hoist_result r;

	(void)state;
	o.bucket = "no-such-bucket";
	o.key = "k";
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, path, &o, &r), HOIST_E_NOT_FOUND);
	assert_string_equal(r.error_code, "NoSuchBucket");
	assert_non_null(strstr(r.message, "NoSuchBucket"));
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
}

static void test_unreachable_and_unreadable(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with("http://127.0.0.1:1", "sk", HOIST_SIGNATURE_DEFAULT, 2);
	const char *path = make_file("ur", 1000, 5);
	struct hoist_result r;

	(void)state;
	o.bucket = "bkt";
	o.key = "k";
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, path, &o, &r), HOIST_E_NETWORK);
	assert_non_null(strstr(r.message, "PutObject"));
	assert_int_equal(r.retries, 1);
	hoist_result_cleanup(&r);

	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, "/nonexistent/file", &o, &r), HOIST_E_NOT_FOUND);
	assert_non_null(strstr(r.message, "/nonexistent/file"));
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
}

static void list_uploads_count(struct hoist_engine *e, const char *prefix, size_t *n)
{
	struct hoist_upload_list *l = NULL;
	struct hoist_result r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_list_uploads(e, "bkt", prefix, &l, &r), HOIST_OK);
	*n = hoist_upload_list_count(l);
	assert_null(hoist_upload_list_get(l, *n));
	if (*n) {
		assert_non_null(hoist_upload_list_get(l, 0)->upload_id);
	}
	hoist_upload_list_free(l);
	hoist_result_cleanup(&r);
}

/* Cancel with no_resume aborts the upload; with a journal it is kept and a
 * second run resumes it, sending only what was missing. */
static void test_cancel_and_resume(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	uint64_t size = slow ? 4 * 1024 * 1024 : 24 * 1024 * 1024;
	const char *path = make_file("resume", size, 9);
	char jdir[128], fpath[256];
	struct cbstate cb = { .monotonic = 1 };
	struct hoist_upload *u = NULL;
	struct hoist_result r;
	size_t n;

	(void)state;
	snprintf(fpath, sizeof(fpath), "%s", path);
	snprintf(jdir, sizeof(jdir), "%s/journal", tmpdir);
	o.bucket = "bkt";
	o.part_size = 102400;
	o.jobs = 2;
	o.progress = on_progress;
	o.on_part = on_part;
	o.userdata = &cb;

	/* 1: cancel without resume: aborted, nothing left.  Cancelled from
	 * the per-part callback, so the moment does not depend on timing
	 * (the loop may still be waiting for the next part when it lands:
	 * the upload must still end cancelled). */
	o.key = "cancel/a";
	o.no_resume = 1;
	memset(&r, 0, sizeof(r));
	cb.cancel_parts = (unsigned)(size / 102400 / 4);
	assert_int_equal(hoist_upload_file_start(&u, e, fpath, &o, &r), HOIST_OK);
	atomic_store(&cb.cancel_me, u);
	assert_int_equal(hoist_upload_wait(u, &r), HOIST_E_CANCELLED);
	hoist_upload_free(u);
	hoist_result_cleanup(&r);
	list_uploads_count(e, "cancel/a", &n);
	assert_int_equal(n, 0);

	/* 2: cancel with a journal: kept. */
	o.key = "cancel/b";
	o.no_resume = 0;
	o.checkpoint_dir = jdir;
	memset(&cb, 0, sizeof(cb));
	cb.monotonic = 1;
	cb.cancel_parts = (unsigned)(size / 102400 / 2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file_start(&u, e, fpath, &o, &r), HOIST_OK);
	atomic_store(&cb.cancel_me, u);
	assert_int_equal(hoist_upload_wait(u, &r), HOIST_E_CANCELLED);
	assert_non_null(r.upload_id);
	assert_non_null(strstr(r.message, "resume"));
	hoist_upload_free(u);
	hoist_result_cleanup(&r);
	list_uploads_count(e, "cancel/b", &n);
	assert_int_equal(n, 1);

	/* 3: the same upload again resumes and finishes, byte-exact. */
	o.progress = NULL;
	o.on_part = NULL;
	o.jobs = 8;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, fpath, &o, &r), HOIST_OK);
	assert_true(r.resumed_parts > 0);
	assert_true(r.bytes_sent < size);
	assert_true(r.crc64_valid);
	{
		size_t len;
		unsigned char *data = slurp(fpath, &len);
		struct mem m;

		assert_true(r.crc64 == crc64_bitwise(0, data, len));
		assert_int_equal(get_object("cancel/b", &m), 200);
		assert_true(m.n == len);
		assert_memory_equal(m.p, data, len);
		free(m.p);
		free(data);
	}
	hoist_result_cleanup(&r);
	list_uploads_count(e, "cancel/b", &n);
	assert_int_equal(n, 0);
	/* The journal is gone after success. */
	{
		DIR *d = opendir(jdir);
		struct dirent *de;
		int files = 0;

		assert_non_null(d);
		while ((de = readdir(d)) != NULL)
			files += de->d_name[0] != '.';
		closedir(d);
		assert_int_equal(files, 0);
	}
	hoist_engine_free(e);
}

/* A file that shrinks under an upload fails cleanly (and with mmap does
 * not kill the process with SIGBUS). */
static void test_truncated_source(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	int io;

	(void)state;
	for (io = 0; io < 2; io++) {
		struct cbstate cb = { .monotonic = 1 };
		char name[32];
		const char *path;
		struct hoist_result r;
		hoist_status st;

		snprintf(name, sizeof(name), "trunc%d", io);
		path = make_file(name, 8 * 1024 * 1024, 11);
		cb.truncate_path = path;
		o.bucket = "bkt";
		o.key = name;
		o.part_size = 102400;
		o.jobs = 1;
		o.io = io ? HOIST_IO_MMAP : HOIST_IO_PREAD;
		o.checksum = HOIST_CHECKSUM_CRC64;
		o.no_resume = 1;
		o.on_part = on_part; /* truncates the file after the first part */
		o.userdata = &cb;
		memset(&r, 0, sizeof(r));
		st = hoist_upload_file(e, path, &o, &r);
		assert_int_equal(st, HOIST_E_SOURCE_CHANGED);
		assert_non_null(r.message);
		hoist_result_cleanup(&r);
	}
	hoist_engine_free(e);
}

static int affinity_of_named(const char *prefix, int *named, int *pinned)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	*named = *pinned = 0;
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char p[300], comm[32] = "";
		FILE *f;
		cpu_set_t set;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", de->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, prefix, strlen(prefix)) != 0)
			continue;
		(*named)++;
		if (sched_getaffinity((pid_t)strtol(de->d_name, NULL, 10), sizeof(set), &set) == 0 &&
		    (CPU_COUNT(&set) < ncpu || ncpu == 1))
			(*pinned)++;
	}
	closedir(d);
	return 0;
}

/* The loop is named and starts with the engine; the hash workers start
 * with the first upload that hashes ahead of sending (here a 200 KiB
 * object with Content-MD5), not with the engine nor with an object the
 * loop hashes itself (64 KiB at most), and are named and bound to one
 * core each; all are gone after hoist_engine_free.  Counted as
 * differences, so that threads of an engine a failed test leaked do not
 * matter. */
static void test_threads(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	int h0, hp0, io0, iop0, named, pinned;

	(void)state;
	o.no_resume = 1;
	assert_int_equal(affinity_of_named("hoist-hash-", &h0, &hp0), 0);
	assert_int_equal(affinity_of_named("hoist-io-", &io0, &iop0), 0);
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	assert_non_null(e);
	assert_int_equal(affinity_of_named("hoist-io-", &named, &pinned), 0);
	assert_int_equal(named - io0, 1);
	assert_int_equal(affinity_of_named("hoist-hash-", &named, &pinned), 0);
	assert_int_equal(named - h0, 0);
	upload_and_verify(e, make_file("thr-small", 64 * 1024, 7), "thr-small", &o);
	assert_int_equal(affinity_of_named("hoist-hash-", &named, &pinned), 0);
	assert_int_equal(named - h0, 0);
	upload_and_verify(e, make_file("thr-big", 200 * 1024, 8), "thr-big", &o);
	assert_int_equal(affinity_of_named("hoist-hash-", &named, &pinned), 0);
	assert_true(named - h0 >= 1);
	assert_int_equal(pinned - hp0, named - h0);
	hoist_engine_free(e);
	assert_int_equal(affinity_of_named("hoist-hash-", &named, &pinned), 0);
	assert_int_equal(named, h0);
	assert_int_equal(affinity_of_named("hoist-io-", &named, &pinned), 0);
	assert_int_equal(named, io0);
}

static void test_bad_options(void **state)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = NULL;
	struct hoist_upload *u = NULL;
	struct hoist_result r;
	char err[256];

	(void)state;
	eo.endpoint = "ftp://x";
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_E_INVALID_ARG);
	assert_null(e);
	assert_non_null(strstr(err, "ftp"));
	eo.endpoint = url;
	eo.access_key_id = "ak";
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_E_INVALID_ARG);
	eo.version = 99;
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_E_INVALID_ARG);

	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	memset(&r, 0, sizeof(r));
	o.bucket = "bkt";
	o.key = "";
	assert_int_equal(hoist_upload_file_start(&u, e, "/dev/null", &o, &r), HOIST_E_INVALID_ARG);
	assert_null(u);
	hoist_result_cleanup(&r);
	o.key = "k";
	o.jobs = 5000;
	assert_int_equal(hoist_upload_file_start(&u, e, "/dev/null", &o, &r), HOIST_E_INVALID_ARG);
	hoist_result_cleanup(&r);
	o.jobs = 0;
	o.part_size = 6ULL << 30;
	assert_int_equal(hoist_upload_file_start(&u, e, make_file("bo", 10, 1), &o, &r),
			 HOIST_E_INVALID_ARG);
	hoist_result_cleanup(&r);
	o.part_size = 0;
	o.version = HOIST_UPLOAD_OPTIONS_VERSION + 1;
	assert_int_equal(hoist_upload_file_start(&u, e, make_file("bo", 10, 1), &o, &r),
			 HOIST_E_INVALID_ARG);
	hoist_result_cleanup(&r);
	o.version = HOIST_UPLOAD_OPTIONS_VERSION;
	o.concurrency = (enum hoist_concurrency)7;
	assert_int_equal(hoist_upload_file_start(&u, e, make_file("bo", 10, 1), &o, &r),
			 HOIST_E_INVALID_ARG);
	hoist_result_cleanup(&r);

	/* A caller built against version 1 has a shorter struct: what follows
	 * it in memory (junk here) must not be read as the version-2 fields. */
	{
		size_t v1 = offsetof(struct hoist_upload_options, concurrency);
		unsigned char *mem = malloc(sizeof(o));
		struct hoist_upload_options *old;
		struct mem m;

		assert_non_null(mem);
		memset(mem, 0xA5, sizeof(o));
		o.concurrency = HOIST_CONCURRENCY_ADAPTIVE;
		o.version = 1;
		o.key = "bo-v1";
		o.no_resume = 1;
		memcpy(mem, &o, v1);
		old = (struct hoist_upload_options *)mem;
		memset(&r, 0, sizeof(r));
		assert_int_equal(hoist_upload_file(e, make_file("bo-v1", 1000, 2), old, &r), HOIST_OK);
		hoist_result_cleanup(&r);
		free(mem);
		assert_int_equal(get_object("bo-v1", &m), 200);
		assert_true(m.n == 1000);
		free(m.p);
	}
	hoist_engine_free(e);
}

/* ------------------------------------------------ against server faults */

static void restart_server(const char *extra)
{
	stop_server();
	assert_int_equal(start_server(extra), 0);
}

/* Transient failures, resets, stalls and damaged CRC headers on parts,
 * and failing Initiates and Completes: every upload still ends byte-exact. */
static void test_faults(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	const char *path;
	unsigned retries = 0;
	char key[32];
	int i;

	(void)state;
	restart_server("--seed 11 --fault uploadpart:fail=0.08,reset=0.03,bad-crc=0.08,stall=0.01:1 "
		       "--fault initiate:fail=0.3 --fault complete:fail=0.3");
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 8);
	path = make_file("faults", slow ? 2 * 1024 * 1024 + 1 : 8 * 1024 * 1024 + 1, 21);
	o.part_size = 256 * 1024;
	o.jobs = 8;
	o.no_resume = 1;
	for (i = 0; i < 4; i++) {
		struct hoist_result r;
		struct hoist_upload_options oo = o;
		size_t len;
		unsigned char *data = slurp(path, &len);
		struct mem m;

		snprintf(key, sizeof(key), "faults/%d", i);
		oo.bucket = "bkt";
		oo.key = key;
		oo.checksum = i % 2 ? HOIST_CHECKSUM_CRC64 : HOIST_CHECKSUM_BOTH;
		memset(&r, 0, sizeof(r));
		if (hoist_upload_file(e, path, &oo, &r) != HOIST_OK)
			print_error("%s\n", r.message);
		assert_int_equal(r.status, HOIST_OK);
		assert_true(r.crc64 == crc64_bitwise(0, data, len));
		retries += r.retries;
		assert_int_equal(get_object(key, &m), 200);
		assert_true(m.n == len);
		assert_memory_equal(m.p, data, len);
		free(m.p);
		free(data);
		hoist_result_cleanup(&r);
	}
	assert_true(retries > 0);
	hoist_engine_free(e);
}

/* A Complete that fails transiently is re-sent without re-sending parts. */
static void test_complete_retry(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	const char *path;
	unsigned retries = 0;
	char key[32];
	int i;

	(void)state;
	restart_server("--seed 5 --fault complete:fail=0.6");
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 8);
	path = make_file("cretry", 1024 * 1024, 22);
	o.bucket = "bkt";
	o.part_size = 256 * 1024;
	o.no_resume = 1;
	for (i = 0; i < 4; i++) {
		struct hoist_result r;

		snprintf(key, sizeof(key), "cretry/%d", i);
		o.key = key;
		memset(&r, 0, sizeof(r));
		assert_int_equal(hoist_upload_file(e, path, &o, &r), HOIST_OK);
		assert_true(r.bytes_sent == 1024 * 1024);
		retries += r.retries;
		hoist_result_cleanup(&r);
	}
	assert_true(retries > 0);
	hoist_engine_free(e);
}

/* A server that always reports a wrong part CRC: detected, named, not
 * completed, and the upload aborted. */
static void test_bad_crc(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	struct hoist_result r;
	size_t n;

	(void)state;
	restart_server("--fault uploadpart:bad-crc=1");
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 3);
	o.bucket = "bkt";
	o.key = "badcrc";
	o.part_size = 102400;
	o.no_resume = 1;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file(e, make_file("badcrc", 300 * 1024, 23), &o, &r),
			 HOIST_E_CHECKSUM);
	assert_string_equal(r.failed_operation, "UploadPart");
	assert_true(r.failed_part >= 1 && r.failed_part <= 3);
	assert_non_null(strstr(r.message, "CRC64"));
	assert_true(r.retries >= 2);
	hoist_result_cleanup(&r);
	list_uploads_count(e, "badcrc", &n);
	assert_int_equal(n, 0);
	hoist_engine_free(e);
}

static size_t find_crc_header(char *b, size_t s, size_t n, void *ud)
{
	if (strncasecmp(b, "x-oss-hash-crc64ecma:", 21) == 0)
		*(int *)ud = 1;
	return s * n;
}

static int head_has_crc(const char *key)
{
	CURL *h = curl_easy_init();
	char u[512];
	int found = 0;

	snprintf(u, sizeof(u), "%s/bkt/%s", url, key);
	curl_easy_setopt(h, CURLOPT_URL, u);
	curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, find_crc_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &found);
	curl_easy_perform(h);
	curl_easy_cleanup(h);
	return found;
}

/* A server that sends no CRC64 header: the object is verified by HEAD. */
static void test_no_crc(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	static const uint64_t sizes[] = { 5000, 700 * 1024 + 1 };
	size_t i;

	(void)state;
	restart_server("--no-crc");
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	o.bucket = "bkt";
	o.part_size = 102400;
	o.no_resume = 1;
	for (i = 0; i < 2; i++) {
		struct hoist_result r;
		char key[32];
		const char *path;
		size_t len;
		unsigned char *data;

		snprintf(key, sizeof(key), "nocrc/%zu", i);
		path = make_file(key + 6, sizes[i], 24);
		data = slurp(path, &len);
		o.key = key;
		memset(&r, 0, sizeof(r));
		assert_int_equal(hoist_upload_file(e, path, &o, &r), HOIST_OK);
		/* HEAD verifies when the server's HEAD carries the CRC; a
		 * server that never sends it leaves the object verified by
		 * MD5s and ETag only, and the result says so. */
		assert_int_equal(r.verified, head_has_crc(key) ? HOIST_VERIFY_HEAD
							       : HOIST_VERIFY_NONE);
		assert_true(r.crc64_valid && r.crc64 == crc64_bitwise(0, data, len));
		free(data);
		hoist_result_cleanup(&r);
	}
	hoist_engine_free(e);
	restart_server(NULL);
}

/* A server whose clock is an hour off answers RequestTimeTooSkewed; the
 * engine learns the offset from its Date header and goes on. */
static void test_clock_skew(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	int sig;

	(void)state;
	restart_server("--clock-offset 3600");
	for (sig = 0; sig < 2; sig++) {
		struct hoist_result r;

		e = engine_with(url, "sk", sig ? HOIST_SIGNATURE_V1 : HOIST_SIGNATURE_V4, 0);
		o.bucket = "bkt";
		o.key = sig ? "skew/v1" : "skew/v4";
		o.part_size = 102400;
		o.no_resume = 1;
		memset(&r, 0, sizeof(r));
		if (hoist_upload_file(e, make_file("skew", 250 * 1024, 25), &o, &r) != HOIST_OK)
			print_error("%s\n", r.message);
		assert_int_equal(r.status, HOIST_OK);
		assert_true(r.retries >= 1);
		hoist_result_cleanup(&r);
		hoist_engine_free(e);
	}
	restart_server(NULL);
}

/* The S3 dialect (SigV4, x-amz-*, 5 MiB minimum part, lower-case ETags,
 * MD5-of-digests multipart ETag) against ossemu's S3 side. */
static void test_s3_dialect(void **state)
{
	static const uint64_t M = 1024 * 1024;
	const uint64_t sizes[] = { 1, 5 * M - 1, 5 * M, 3 * 5 * M + 7 };
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = NULL;
	char err[256], key[32];
	size_t i;

	(void)state;
	eo.dialect = HOIST_DIALECT_S3;
	eo.endpoint = url;
	eo.region = "us-east-1";
	eo.access_key_id = "ak";
	eo.access_key_secret = "sk";
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_OK);
	o.part_size = 1; /* raised to the S3 minimum, 5 MiB */
	o.jobs = 4;
	o.no_resume = 1;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (slow && sizes[i] > 6 * M)
			continue;
		snprintf(key, sizeof(key), "s3/%zu b", i);
		upload_and_verify_d(e, make_file("s3", sizes[i], 30 + (uint32_t)i), key, &o, 1);
	}
	hoist_engine_free(e);

	/* Wrong secret: a clear SignatureDoesNotMatch line. */
	eo.access_key_secret = "wrong";
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_OK);
	{
		struct hoist_result r;

		o.bucket = "bkt";
		o.key = "s3/wrong";
		memset(&r, 0, sizeof(r));
		assert_int_equal(hoist_upload_file(e, make_file("s3w", 10, 3), &o, &r), HOIST_E_AUTH);
		assert_non_null(strstr(r.message, "SignatureDoesNotMatch"));
		hoist_result_cleanup(&r);
	}
	hoist_engine_free(e);
}

/* S3's additional checksums: x-amz-checksum-crc32c and -crc64nvme per
 * part (and on a single PUT), computed in the pre-pass with or without
 * MD5, checked by ossemu (BadDigest otherwise) and echoed; each part's
 * value compared with a bitwise CRC of the file here.  The OSS dialect
 * refuses the option. */
static void test_s3_checksums(void **state)
{
	static const uint64_t M = 1024 * 1024;
	static const unsigned char check[] = "123456789";
	static const int algos[] = { HOIST_S3_CHECKSUM_CRC32C, HOIST_S3_CHECKSUM_CRC64NVME };
	static const enum hoist_checksum modes[] = { HOIST_CHECKSUM_BOTH, HOIST_CHECKSUM_CRC64 };
	const uint64_t sizes[] = { 1000, slow ? 2 * 5 * M + 7 : 3 * 5 * M + 7 };
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = NULL;
	struct hoist_upload *u = NULL;
	struct hoist_result r;
	char err[256], key[64];
	size_t a, m, i;

	(void)state;
	/* The reference CRCs themselves: the published check values. */
	assert_true(crc32c_bitwise(check, 9) == 0xE3069283u);
	assert_true(crc64nvme_bitwise(check, 9) == 0xAE8B14860A799888ULL);

	eo.dialect = HOIST_DIALECT_S3;
	eo.endpoint = url;
	eo.region = "us-east-1";
	eo.access_key_id = "ak";
	eo.access_key_secret = "sk";
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_OK);
	o.part_size = 5 * M;
	o.jobs = 3;
	o.no_resume = 1;
	for (a = 0; a < 2; a++) {
		for (m = 0; m < 2; m++) {
			for (i = 0; i < 2; i++) {
				o.s3_checksum = (enum hoist_s3_checksum)algos[a];
				o.checksum = modes[m];
				snprintf(key, sizeof(key), "s3sum/a%zu-m%zu-%zu", a, m, i);
				upload_and_verify_d(e, make_file("s3sum", sizes[i], 40 + (uint32_t)(a + m + i)),
						    key, &o, 1);
			}
		}
	}
	hoist_engine_free(e);

	/* Not an OSS option. */
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 0);
	assert_non_null(e);
	o.bucket = "bkt";
	o.key = "s3sum/oss";
	o.s3_checksum = HOIST_S3_CHECKSUM_CRC32C;
	memset(&r, 0, sizeof(r));
	assert_int_equal(hoist_upload_file_start(&u, e, make_file("s3sum-oss", 10, 1), &o, &r),
			 HOIST_E_INVALID_ARG);
	assert_null(u);
	assert_non_null(strstr(r.message, "S3"));
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
}

/* HTTPS: verification on by default (a self-signed server is refused with
 * HOIST_E_TLS and curl's reason), trusted with ca_file, or skipped with
 * insecure.  The certificate is made here with the openssl command. */
static void test_tls(void **state)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	char cmd[1024], cert[128], key[128], extra[300], err[256];
	const char *path = make_file("tls", 300 * 1024 + 1, 40);
	int mode;

	(void)state;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 key, cert);
	assert_int_equal(system(cmd), 0);
	snprintf(extra, sizeof(extra), "--tls-cert %s --tls-key %s", cert, key);
	restart_server(extra);
	assert_memory_equal(url, "https://", 8);

	o.bucket = "bkt";
	o.key = "tls";
	o.part_size = 102400;
	o.no_resume = 1;
	for (mode = 0; mode < 3; mode++) {
		struct hoist_engine *e = NULL;
		struct hoist_result r;
		hoist_status st;

		memset(&eo, 0, sizeof(eo));
		eo.version = HOIST_ENGINE_OPTIONS_VERSION;
		eo.endpoint = url;
		eo.access_key_id = "ak";
		eo.access_key_secret = "sk";
		eo.max_attempts = 2;
		eo.ca_file = mode == 1 ? cert : NULL;
		eo.insecure = mode == 2;
		assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_OK);
		memset(&r, 0, sizeof(r));
		st = hoist_upload_file(e, path, &o, &r);
		if (mode == 0) {
			assert_int_equal(st, HOIST_E_TLS);
			assert_non_null(strstr(r.message, "certificate"));
		} else {
			assert_int_equal(st, HOIST_OK);
			assert_true(r.verified == HOIST_VERIFY_RESPONSE);
		}
		hoist_result_cleanup(&r);
		hoist_engine_free(e);
	}
	restart_server(NULL);
}

/* A part whose connection stalls is re-sent long before the low-speed
 * limit would give up on it: 10-second stalls, yet the upload finishes in
 * a few seconds. */
static void test_stall(void **state)
{
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e;
	struct hoist_result r;
	const char *path;
	size_t len;
	unsigned char *data;

	(void)state;
	restart_server("--seed 3 --fault uploadpart:stall=0.15:10");
	e = engine_with(url, "sk", HOIST_SIGNATURE_DEFAULT, 6);
	path = make_file("stall", 40 * 102400 + 3, 41);
	data = slurp(path, &len);
	o.bucket = "bkt";
	o.key = "stall";
	o.part_size = 102400;
	o.jobs = 4;
	o.no_resume = 1;
	memset(&r, 0, sizeof(r));
	if (hoist_upload_file(e, path, &o, &r) != HOIST_OK)
		print_error("%s\n", r.message);
	assert_int_equal(r.status, HOIST_OK);
	assert_true(r.crc64 == crc64_bitwise(0, data, len));
	assert_true(r.retries >= 1);
	assert_true(r.seconds < 9.0);
	free(data);
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
	restart_server(NULL);
}

/* Two uploads at once on an engine with two event loops (one each), one of
 * them from a borrowed descriptor whose offset must not move. */
static void test_concurrent_fd(void **state)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *e = NULL;
	struct hoist_upload *u1 = NULL, *u2 = NULL;
	struct hoist_result r1, r2;
	char err[256], p1[256], p2[256];
	int fd, named, pinned;
	size_t l1, l2;
	unsigned char *d1, *d2;
	struct mem m;

	(void)state;
	snprintf(p1, sizeof(p1), "%s", make_file("conc1", 3 * 1024 * 1024 + 1, 50));
	snprintf(p2, sizeof(p2), "%s", make_file("conc2", 2 * 1024 * 1024 + 7, 51));
	d1 = slurp(p1, &l1);
	d2 = slurp(p2, &l2);
	eo.endpoint = url;
	eo.access_key_id = "ak";
	eo.access_key_secret = "sk";
	eo.io_threads = 2;
	assert_int_equal(new_engine(&e, &eo, err, sizeof(err)), HOIST_OK);
	assert_int_equal(affinity_of_named("hoist-io-1", &named, &pinned), 0);
	assert_true(named >= 1);

	fd = open(p2, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 1234, SEEK_SET), 1234);
	o.bucket = "bkt";
	o.part_size = 256 * 1024;
	o.no_resume = 1;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	o.key = "conc/1";
	assert_int_equal(hoist_upload_file_start(&u1, e, p1, &o, &r1), HOIST_OK);
	o.key = "conc/2";
	o.io = HOIST_IO_MMAP;
	assert_int_equal(hoist_upload_fd_start(&u2, e, fd, &o, &r2), HOIST_OK);
	assert_int_equal(hoist_upload_wait(u2, &r2), HOIST_OK);
	assert_int_equal(hoist_upload_wait(u1, &r1), HOIST_OK);
	hoist_upload_free(u1);
	hoist_upload_free(u2);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 1234);
	close(fd);
	assert_true(r1.crc64 == crc64_bitwise(0, d1, l1));
	assert_true(r2.crc64 == crc64_bitwise(0, d2, l2));
	assert_int_equal(get_object("conc/2", &m), 200);
	assert_true(m.n == l2);
	assert_memory_equal(m.p, d2, l2);
	free(m.p);
	free(d1);
	free(d2);
	hoist_result_cleanup(&r1);
	hoist_result_cleanup(&r2);
	hoist_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_wrong_secret),
		cmocka_unit_test(test_missing_bucket),
		cmocka_unit_test(test_unreachable_and_unreadable),
		cmocka_unit_test(test_cancel_and_resume),
		cmocka_unit_test(test_truncated_source),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_concurrent_fd),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_complete_retry),
		cmocka_unit_test(test_bad_crc),
		cmocka_unit_test(test_no_crc),
		cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_s3_dialect),
		cmocka_unit_test(test_s3_checksums),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_stall),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
