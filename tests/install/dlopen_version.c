/*
 * dlopen_version.c - loads libhoist.so.0 the way a plugin host does and
 * checks what it finds: hoist_version() is the expected string, every
 * function named on the command line resolves, and no internal name does.
 *
 *   dlopen_version EXPECTED_VERSION FUNCTION... -- INTERNAL...
 *
 * Prints TAP lines; exits non-zero on any failure.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *(*version)(void);
	void *h;
	int i, n = 0, bad = 0, internal = 0;

	if (argc < 2)
		return 2;
	h = dlopen("libhoist.so.0", RTLD_NOW | RTLD_LOCAL);
	printf("%s %d - dlopen(\"libhoist.so.0\", RTLD_NOW)%s%s\n", h ? "ok" : "not ok", ++n,
	       h ? "" : ": ", h ? "" : dlerror());
	if (!h)
		return 1;
	*(void **)&version = dlsym(h, "hoist_version");
	if (version && strcmp(version(), argv[1]) == 0) {
		printf("ok %d - hoist_version() is \"%s\"\n", ++n, argv[1]);
	} else {
		printf("not ok %d - hoist_version() is \"%s\", want \"%s\"\n", ++n,
		       version ? version() : "(no symbol)", argv[1]);
		bad = 1;
	}
	for (i = 2; i < argc; i++) {
		void *sym;

		if (strcmp(argv[i], "--") == 0) {
			internal = 1;
			continue;
		}
		sym = dlsym(h, argv[i]);
		if (!sym == !internal) {
			printf("not ok %d - %s %s\n", ++n, argv[i],
			       internal ? "is visible, an internal name" : "does not resolve");
			bad = 1;
		} else {
			printf("ok %d - %s %s\n", ++n, argv[i], internal ? "hidden" : "resolves");
		}
	}
	dlclose(h);
	printf("1..%d\n", n);
	return bad;
}
