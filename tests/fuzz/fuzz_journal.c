/*
 * fuzz_journal.c - libFuzzer target for the resume journal
 * (engine/journal.c): journal_parse reads a file from the checkpoint
 * directory that a crash may have torn and anything may have written, and
 * the writer (journal_create + journal_part) must produce what the reader
 * reads back.
 *
 * Input, two modes:
 *  - text that starts with "hoist-journal": parsed as a journal file.  When
 *    it parses, the record is written with the real writer into a private
 *    temporary directory, loaded back with journal_load and compared:
 *    parse(write(parse(x))) == parse(x).
 *  - anything else: a record built from the bytes (5 little-endian u64
 *    numbers, 4 length-prefixed strings, then parts of number, size, CRC,
 *    CRC flag and ETag), written, loaded and compared: load(write(r)) == r.
 *
 * Checked beyond "no crash, no leak, no UB": a parsed record has all its
 * header fields, part numbers in 1..10000 and a non-NULL ETag per part;
 * journal_rec_find returns the last record of a number; the round trips
 * above are exact.
 *
 * The structured mode writes anything the engine can be asked to write,
 * including parts without an ETag (journal_part skips them: this target
 * once found that an empty one ended the part list on reading) and an
 * mtime of INT64_MIN (once written but refused on reading).
 */
// fuzz-sources: engine/journal.c engine/response.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

static char dir[256];
static char path[300];

/* A broken promise: say which one, then abort (the fuzzer saves the input). */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

static void remove_dir(void)
{
	if (dir[0]) {
		rmdir(dir);
	}
}

/* A private directory on tmpfs when there is one: the writer fsyncs, and
 * a disk would make every execution cost milliseconds. */
static void make_dir(void)
{
	const char *bases[3] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };

	for (int i = 0; i < 3 && !dir[0]; i++) {
		if (!bases[i] || access(bases[i], W_OK) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/hoist-fuzz-journal-XXXXXX", bases[i]);
		if (!mkdtemp(dir)) {
			dir[0] = '\0';
		}
	}
	check(dir[0] != '\0');
	snprintf(path, sizeof(path), "%s/j.journal", dir);
	atexit(remove_dir);
}

static int same_str(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void check_equal(const struct journal_rec *a, const struct journal_rec *b)
{
	check(same_str(a->endpoint, b->endpoint) && same_str(a->bucket, b->bucket) &&
	      same_str(a->key, b->key) && same_str(a->upload_id, b->upload_id));
	check(a->part_size == b->part_size && a->size == b->size && a->dev == b->dev &&
	      a->ino == b->ino && a->mtime_ns == b->mtime_ns);
	check(a->nparts == b->nparts);
	for (size_t i = 0; i < a->nparts; i++) {
		const struct journal_part *p = &a->parts[i], *q = &b->parts[i];

		check(p->number == q->number && p->size == q->size &&
		      p->crc_valid == q->crc_valid && same_str(p->etag, q->etag));
		if (p->crc_valid) {
			check(p->crc == q->crc);
		}
	}
}

static void check_parsed(const struct journal_rec *r)
{
	check(r->endpoint && r->bucket && r->key && r->upload_id && r->part_size > 0);
	check(r->nparts <= r->cap);
	for (size_t i = 0; i < r->nparts; i++) {
		const struct journal_part *p = &r->parts[i];
		const struct journal_part *found = journal_rec_find(r, p->number);

		check(p->number >= 1 && p->number <= 10000 && p->etag != NULL);
		check(p->crc_valid == 0 || p->crc_valid == 1);
		check(found != NULL && found >= p);
		for (const struct journal_part *q = found + 1; q < r->parts + r->nparts; q++) {
			check(q->number != p->number);
		}
	}
}

/* Writes rec with the engine's writer, loads it back, compares. */
static void round_trip(const struct journal_rec *rec)
{
	struct journal *j = NULL;
	struct journal_rec back;

	if (!dir[0]) {
		make_dir();
	}
	check(journal_create(&j, path, rec) == 0);
	for (size_t i = 0; i < rec->nparts; i++) {
		const struct journal_part *p = &rec->parts[i];

		journal_part(j, p->number, p->size, p->etag, p->crc, p->crc_valid);
	}
	journal_close(j);
	check(journal_load(&back, path) == 0);
	{
		/* journal_part keeps no part without an ETag (Complete could not
		 * name it): what reads back is the record minus those. */
		struct journal_rec want = *rec;

		want.parts = calloc(rec->nparts + 1, sizeof(*want.parts));
		check(want.parts != NULL);
		want.nparts = 0;
		for (size_t i = 0; i < rec->nparts; i++) {
			if (rec->parts[i].etag && rec->parts[i].etag[0]) {
				want.parts[want.nparts++] = rec->parts[i];
			}
		}
		check_equal(&want, &back);
		free(want.parts);
	}
	journal_rec_cleanup(&back);
	check(unlink(path) == 0);
}

/* ---- structured mode: a record from raw bytes ------------------------------- */

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint64_t take_u64(struct reader *r)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && r->n; i++, r->p++, r->n--) {
		v |= (uint64_t)*r->p << (8 * i);
	}
	return v;
}

/* A string of up to 255 bytes (NUL bytes become '0'); "" when empty and
 * allowed, dflt otherwise. */
static char *take_str(struct reader *r, const char *dflt)
{
	size_t len = r->n ? *r->p : 0;
	char *s;

	if (r->n) {
		r->p++;
		r->n--;
	}
	if (len > r->n) {
		len = r->n;
	}
	if (len == 0)
		return strdup(dflt);
	s = malloc(len + 1);
	check(s != NULL);
	for (size_t i = 0; i < len; i++) {
		s[i] = r->p[i] ? (char)r->p[i] : '0';
	}
	s[len] = '\0';
	r->p += len;
	r->n -= len;
	return s;
}

static void structured(const uint8_t *data, size_t size)
{
	struct reader rd = { data, size };
	struct journal_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.part_size = take_u64(&rd);
	rec.size = take_u64(&rd);
	rec.dev = take_u64(&rd);
	rec.ino = take_u64(&rd);
	rec.mtime_ns = (int64_t)take_u64(&rd);
	if (rec.part_size == 0) {
		rec.part_size = 1;
	}
	rec.endpoint = take_str(&rd, "http://127.0.0.1:9000");
	rec.bucket = take_str(&rd, "bkt");
	rec.key = take_str(&rd, "k");
	rec.upload_id = take_str(&rd, "ID");
	check(rec.endpoint && rec.bucket && rec.key && rec.upload_id);
	while (rd.n > 0 && rec.nparts < 2000) {
		struct journal_part p;

		if (rec.nparts == rec.cap) {
			rec.cap = rec.cap ? rec.cap * 2 : 16;
			rec.parts = realloc(rec.parts, rec.cap * sizeof(*rec.parts));
			check(rec.parts != NULL);
		}
		memset(&p, 0, sizeof(p));
		p.number = (unsigned)(take_u64(&rd) % 10000) + 1;
		p.size = take_u64(&rd);
		p.crc = take_u64(&rd);
		p.crc_valid = rd.n ? *rd.p & 1 : 0;
		if (rd.n) {
			rd.p++;
			rd.n--;
		}
		p.etag = take_str(&rd, "");
		check(p.etag != NULL);
		if (!p.crc_valid) {
			p.crc = 0;
		}
		rec.parts[rec.nparts++] = p;
	}
	round_trip(&rec);
	journal_rec_cleanup(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_rec rec;

	if (size > 128 * 1024)
		return 0;
	if (size >= 13 && memcmp(data, "hoist-journal", 13) == 0) {
		if (journal_parse(&rec, (const char *)data, size) == 0) {
			check_parsed(&rec);
			round_trip(&rec);
			journal_rec_cleanup(&rec);
		} else {
			check(!rec.endpoint && !rec.parts && rec.nparts == 0);
		}
		return 0;
	}
	structured(data, size);
	return 0;
}
