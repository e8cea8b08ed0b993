/*
 * progress.c - the progress bar of `hoist cp`.
 *
 * Owns: one line on the terminal (stderr), redrawn in place with "\r" and
 * erase-to-end-of-line: percent, a bar, bytes done of total, the rate over
 * the last few seconds, the time left and the parts in flight.  It draws
 * only when stderr is a terminal and the user did not ask for --quiet, so a
 * pipe or a log file never fills with carriage returns.
 * Threading: updates come from the engine's threads, never two at a time
 * for one upload (hoist.h), so the state needs no lock; clear and finish
 * run on the thread that prints other lines (the part callback's engine
 * thread, or the main thread after hoist_upload_wait returned).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* The rate is measured over a sliding window of samples: short enough to
 * follow a real change of speed, long enough that the bursty
 * acknowledgements of large parts do not make it jump.  32 samples at the
 * engine's ~100 ms cadence is about three seconds. */
#define RATE_SAMPLES 32

struct sample {
	double t;
	uint64_t bytes;
};

struct cli_progress {
	int enabled;               /* immutable: draw anything at all */
	double start;
	double last_draw;
	int drawn;                 /* a bar is on the screen now */
	uint64_t transferred, total;
	unsigned in_flight;
	struct sample ring[RATE_SAMPLES];
	unsigned nring, head;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cli_progress *cli_progress_new(int enabled)
{
	struct cli_progress *p = calloc(1, sizeof(*p));

	if (!p) {
		return NULL;
	}
	p->enabled = enabled && isatty(STDERR_FILENO);
	p->start = now();
	return p;
}

void cli_progress_free(struct cli_progress *p)
{
	free(p);
}

static unsigned columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
		return ws.ws_col;
	}
	return 80;
}

static double rate(const struct cli_progress *p, double t)
{
	const struct sample *oldest;
	double dt;

	if (p->nring < 2) {
		dt = t - p->start;
		return dt > 0 ? (double)p->transferred / dt : 0;
	}
	oldest = &p->ring[(p->head + RATE_SAMPLES - p->nring) % RATE_SAMPLES];
	dt = t - oldest->t;
	if (dt <= 0 || p->transferred < oldest->bytes) {
		return 0;
	}
	return (double)(p->transferred - oldest->bytes) / dt;
}

static void format_eta(char *buf, size_t len, double secs)
{
	unsigned long s;

	if (secs < 0 || secs > 99.0 * 3600) {
		snprintf(buf, len, "--:--");
		return;
	}
	s = (unsigned long)(secs + 0.5);
	if (s >= 3600) {
		snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	} else {
		snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
	}
}

static void draw(struct cli_progress *p, double t, int final)
{
	char done[32], total[32], r[32], eta[32], tail[160], line[512];
	double pct = p->total ? 100.0 * (double)p->transferred / (double)p->total : 100.0;
	double rt = final ? (t > p->start ? (double)p->transferred / (t - p->start) : 0)
			  : rate(p, t);
	unsigned cols = columns(), barw = 0, i, fill;
	int n;

	if (pct > 100.0) {
		pct = 100.0;
	}
	cli_format_bytes(done, sizeof(done), (double)p->transferred);
	cli_format_bytes(total, sizeof(total), (double)p->total);
	cli_format_bytes(r, sizeof(r), rt);
	if (final) {
		format_eta(eta, sizeof(eta), t - p->start);
		snprintf(tail, sizeof(tail), " %s / %s  %s/s  in %s", done, total, r, eta);
	} else {
		format_eta(eta, sizeof(eta),
			   rt > 0 ? (double)(p->total - p->transferred) / rt : -1);
		/* Fixed widths, so the bar does not change length as the
		 * numbers do. */
		snprintf(tail, sizeof(tail), " %9s / %s %9s/s  ETA %5s  %4u in flight",
			 done, total, r, eta, p->in_flight);
	}
	/* "100% " + "[" bar "]" + tail: the bar takes what is left, and goes
	 * away on a narrow terminal rather than wrap the line. */
	n = (int)strlen(tail) + 5 + 2;
	if ((int)cols - 1 > n + 10) {
		barw = (unsigned)((int)cols - 1 - n);
		if (barw > 40) {
			barw = 40;
		}
	}
	/* Truncated, not rounded: "100%" only when it is. */
	n = snprintf(line, sizeof(line), "\r%3u%% ", (unsigned)pct);
	if (barw) {
		fill = (unsigned)(pct / 100.0 * barw);
		line[n++] = '[';
		for (i = 0; i < barw; i++) {
			line[n++] = i < fill ? '#' : '.';
		}
		line[n++] = ']';
	}
	snprintf(line + n, sizeof(line) - (size_t)n, "%s\033[K", tail);
	fputs(line, stderr);
	fflush(stderr);
	p->drawn = 1;
	p->last_draw = t;
}

void cli_progress_update(uint64_t increment, uint64_t transferred,
			 uint64_t total, unsigned parts_in_flight, void *userdata)
{
	struct cli_progress *p = userdata;
	double t;

	if (!p || !p->enabled) {
		return;
	}
	t = now();
	p->transferred = transferred;
	p->total = total;
	p->in_flight = parts_in_flight;
	p->ring[p->head] = (struct sample){ t, transferred };
	p->head = (p->head + 1) % RATE_SAMPLES;
	if (p->nring < RATE_SAMPLES) {
		p->nring++;
	}
	/* The engine promises ~100 ms between calls; guard anyway, a redraw
	 * per acknowledgement would cost more than the upload's bookkeeping. */
	if (p->drawn && t - p->last_draw < 0.09) {
		return;
	}
	draw(p, t, 0);
}

void cli_progress_clear(struct cli_progress *p)
{
	if (!p || !p->enabled || !p->drawn) {
		return;
	}
	fputs("\r\033[K", stderr);
	fflush(stderr);
	p->drawn = 0;
}

void cli_progress_finish(struct cli_progress *p, int ok)
{
	if (!p || !p->enabled) {
		return;
	}
	if (ok) {
		draw(p, now(), 1);
		fputc('\n', stderr);
		fflush(stderr);
		p->drawn = 0;
	} else {
		/* A failure prints its own line; leave no half bar above it. */
		cli_progress_clear(p);
	}
}
