/*
 * http.h - the HTTP front end of ossemu (libmicrohttpd).
 *
 * Threading: http_start and http_stop are called by the main thread only.
 */
#ifndef OSSEMU_HTTP_H
#define OSSEMU_HTTP_H

#include <stddef.h>

#include "ossemu.h"

/* Starts the daemon on cfg->host:cfg->port; sets s->port and s->daemon.
 * Returns 0, or -1 with a message in err. */
int http_start(struct ossemu *s, char *err, size_t errlen);
/* Stops accepting, finishes suspended work, stops the daemon. */
void http_stop(struct ossemu *s);
/* The /-/stats document (malloc'd; NULL on ENOMEM). */
char *http_stats_json(struct ossemu *s);

#endif
