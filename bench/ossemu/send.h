/*
 * send.h - response bodies that are paced (--conn-bandwidth) or faulted
 * (--reset, --stall, --corrupt-get on GetObject bodies).
 *
 * A plain body goes out the fast way (sendfile from the object's file, or
 * MHD's copy of a buffer).  When a plan says to pace or to fault, the body
 * is served instead through an MHD content reader that hands MHD at most
 * what the bandwidth allows so far, suspends the connection (resume.h)
 * until the next slice is due, and stalls, drops or corrupts the body at
 * the planned byte.  No worker thread ever sleeps.
 *
 * Threading: a sender belongs to its response; MHD calls the reader on the
 * worker thread of the connection that sends it.
 */
#ifndef OSSEMU_SEND_H
#define OSSEMU_SEND_H

#include <stdint.h>

#include "ossemu.h"

#define SEND_NEVER UINT64_MAX
/* Pacing below this is not worth a suspend/resume round trip. */
#define PACE_MIN_SUSPEND_NS 1000000ULL

struct MHD_Connection;
struct MHD_Response;

struct send_plan {
	double bandwidth;     /* bytes per second; 0: unpaced */
	uint64_t stall_at;    /* body offset where the stall starts, or SEND_NEVER */
	double stall_s;
	uint64_t reset_at;    /* body offset where the connection is dropped, or SEND_NEVER */
	uint64_t corrupt_at;  /* body offset of the byte sent flipped, or SEND_NEVER */
};

void send_plan_init(struct send_plan *p);
/* True when the body must go through the reader (anything to pace or fault). */
int send_plan_active(const struct send_plan *p);

/* A response of len bytes read from fd at off (fd >= 0, taken over: closed
 * with the response, also on failure) or from mem (taken over, freed with
 * the response).  conn is the connection that will send it.  NULL on ENOMEM. */
struct MHD_Response *send_response_new(struct ossemu *srv, struct MHD_Connection *conn,
				       const struct send_plan *plan, int fd, uint64_t off,
				       char *mem, uint64_t len);

#endif
