/*
 * trust.h - the certificates an engine trusts when the caller names none
 * (private).
 *
 * Layer: runtime.
 *
 * Owns: one X509 store per engine over OpenSSL's hashed certificate
 * directory, shared by every TLS connection of the engine.  Why: libcurl's
 * default parses its whole CA bundle (~140 roots, ~240M instructions with
 * OpenSSL 3.0: ~50 ms of CPU on our VM) before the first handshake, which
 * a one-file run pays in full; a hashed directory is read one root at a
 * time, when a handshake needs it, and the shared store keeps what it
 * read for the engine's later connections.
 *
 * Threading: made and freed with the engine; trust_apply and the handshakes
 * it sets up run on any thread (an X509 store locks itself).
 */
#ifndef HOIST_TRUST_H
#define HOIST_TRUST_H

#include <curl/curl.h>

struct trust;

/* The store over the first hashed directory of SSL_CERT_DIR (OpenSSL's
 * variable: a ':' list) or else OpenSSL's default directory (Debian:
 * /usr/lib/ssl/certs, i.e. /etc/ssl/certs, which update-ca-certificates
 * fills with the roots of its bundle).  NULL when libcurl's TLS is not
 * OpenSSL, no such directory holds a hashed name ("5ad8a5d6.0"), or out
 * of memory: the caller then keeps libcurl's default bundle.  Reads one
 * directory listing, no certificate. */
struct trust *trust_new(void);
void trust_free(struct trust *t);
/* The directory t reads. */
const char *trust_dir(const struct trust *t);
/* Makes h verify its peer against t instead of a CA file or directory. */
void trust_apply(struct trust *t, CURL *h);

#endif
