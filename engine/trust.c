/*
 * trust.c - the engine's default trust store: OpenSSL's hashed directory,
 * read lazily, shared by the engine's connections (see trust.h).
 *
 * libcurl sets up each connection's SSL_CTX; CURLOPT_SSL_CTX_FUNCTION
 * then swaps the context's store for the shared one (SSL_CTX_set1_cert_store
 * takes a reference).  With no CA file or directory set, libcurl 7.88
 * loads nothing itself (a libcurl that loads its default bundle anyway
 * would cost the parse again, but the store that verifies is still this
 * one).  The store's flags are what libcurl sets on its own:
 * trusted certificates first, and a trusted intermediate may anchor a chain
 * (X509_V_FLAG_PARTIAL_CHAIN, libcurl's default since 7.68).  Host name
 * checks are libcurl's, on the SSL object, and do not change.
 *
 * Layer: runtime.
 * Threading: see trust.h.
 */
#include "trust.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

struct trust {
	X509_STORE *store;
	char dir[4096];            /* the directory it reads */
};

/* "5ad8a5d6.0": the name c_rehash / openssl rehash gives a certificate. */
static int hashed_name(const char *n)
{
	int i;

	for (i = 0; i < 8; i++) {
		if (!isxdigit((unsigned char)n[i]))
			return 0;
	}
	if (n[8] != '.' || !isdigit((unsigned char)n[9]))
		return 0;
	for (i = 10; n[i]; i++) {
		if (!isdigit((unsigned char)n[i]))
			return 0;
	}
	return 1;
}

/* Whether the directory holds a certificate by hash: without one, a
 * lookup there finds nothing and every handshake would fail. */
static int dir_is_hashed(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		found = hashed_name(de->d_name);
	}
	closedir(d);
	return found;
}

/* The first hashed directory of list (':' separated), copied to out. */
static int first_hashed(const char *list, char *out, size_t outlen)
{
	while (*list) {
		size_t n = strcspn(list, ":");

		if (n > 0 && n < outlen) {
			memcpy(out, list, n);
			out[n] = '\0';
			if (dir_is_hashed(out))
				return 1;
		}
		list += n;
		list += *list == ':';
	}
	return 0;
}

static int backend_is_openssl(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	/* A multi-backend libcurl names the one in use first. */
	return v && v->ssl_version && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
}

struct trust *trust_new(void)
{
	const char *env = getenv(X509_get_default_cert_dir_env());
	const char *list = env && *env ? env : X509_get_default_cert_dir();
	struct trust *t = NULL;
	X509_LOOKUP *lookup;

	if (!backend_is_openssl())
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || !first_hashed(list, t->dir, sizeof(t->dir)) || !(t->store = X509_STORE_new()))
		goto fail;
	lookup = X509_STORE_add_lookup(t->store, X509_LOOKUP_hash_dir());
	if (!lookup || X509_LOOKUP_add_dir(lookup, t->dir, X509_FILETYPE_PEM) != 1)
		goto fail;
	X509_STORE_set_flags(t->store, X509_V_FLAG_TRUSTED_FIRST | X509_V_FLAG_PARTIAL_CHAIN);
	return t;
fail:
	trust_free(t);
	return NULL;
}

const char *trust_dir(const struct trust *t)
{
	return t->dir;
}

void trust_free(struct trust *t)
{
	if (!t)
		return;
	X509_STORE_free(t->store);
	free(t);
}

static CURLcode set_store(CURL *h, void *ssl_ctx, void *ud)
{
	struct trust *t = ud;

	(void)h;
	SSL_CTX_set1_cert_store(ssl_ctx, t->store);
	return CURLE_OK;
}

void trust_apply(struct trust *t, CURL *h)
{
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, set_store);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, t);
}
