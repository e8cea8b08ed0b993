/*
 * collide.c - a host program's own functions that happen to have the
 * names of libhoist's internals.  Linked into the example agent by
 * tests/integration/test_lib_install.py: if any of these names were
 * visible in libhoist.a or libhoist.so, the static link would fail with a
 * duplicate definition, or the library would call these instead of its
 * own and the upload would abort.
 */
#include <stdlib.h>

#define HOST_OWN(name) \
	void name(void); \
	void name(void) { abort(); }

HOST_OWN(md5_init)
HOST_OWN(md5_update)
HOST_OWN(md5_final)
HOST_OWN(buf_append)
HOST_OWN(buf_printf)
HOST_OWN(base64_encode)
HOST_OWN(parse_u64)
HOST_OWN(request_new)
HOST_OWN(loop_new)
HOST_OWN(xml_parse)
HOST_OWN(crc64_ecma_update)
HOST_OWN(sign_oss_v4)
HOST_OWN(topo_new)
