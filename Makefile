# hoist - build, test and benchmark.
#
#   make            build everything into build/
#   make deps       install the Debian and npm packages the build and tests need
#   make demo       deps + build, start ossemu, upload a 1 GiB file, show the result
#   make check      deps + build + every test (plain, then ASan+UBSan, TSan)
#   make SAN=address|thread   a sanitizer build in build/san-address|san-thread
#   make fuzz       libFuzzer targets (clang), run for FUZZ_SECONDS each
#   make bench / bench-quick / bench-rgw   the benchmark harness (bench/README.md)
#   make install [PREFIX=/usr/local] [DESTDIR=]   bin/hoist, the library, hoist.h,
#                   hoist.pc, hoist(1); make uninstall removes them
#   make abi-baseline   regenerate tests/abi/libhoist.abi after a deliberate
#                   ABI change (tests/abi/README.md)
#
# Sources are found by wildcard: a new engine/*.c joins the library, a new
# tests/unit/test_*.c becomes a test binary, a new bench/ossemu/*.c joins
# ossemu.  No recursive make.

CC      ?= cc
OBJCOPY ?= objcopy
SAN     ?=
ifeq ($(SAN),)
BUILD   ?= build
else
BUILD   ?= build/san-$(SAN)
endif

# Library name -> Debian package, for the message when one is missing.
PKG_libcurl       := libcurl4-openssl-dev
PKG_openssl       := libssl-dev
PKG_libisal       := libisal-dev
PKG_expat         := libexpat1-dev
PKG_hwloc         := libhwloc-dev
PKG_jansson       := libjansson-dev
PKG_libmicrohttpd := libmicrohttpd-dev
PKG_cmocka        := libcmocka-dev

# pkg-config, with a clear error naming the package when a library is absent.
pc = $(if $(shell pkg-config --exists $(1) && echo y),$(shell pkg-config --$(2) $(1)),$(error missing library '$(1)': install the Debian package $(PKG_$(1)) (or run 'make deps')))

# Goals that only recurse or install need no libraries at parse time (so
# that "make check" on a fresh machine can install them first).
ifneq ($(filter-out deps help clean check demo fuzz bench bench-quick bench-rgw uninstall,$(or $(MAKECMDGOALS),all)),)
NEED_PKG := 1
endif

WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 -Wvla
OPT     ?= -O2 -g
CFLAGS  += -std=gnu11 $(OPT) $(WARN) -pthread -fPIC -MMD -MP -D_GNU_SOURCE
CPPFLAGS += -Iinclude -Iengine -DHOIST_BUILDING
ifeq ($(SAN),address)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

ifdef NEED_PKG
LIB_CFLAGS  := $(call pc,libcurl,cflags) $(call pc,openssl,cflags) $(call pc,libisal,cflags) $(call pc,expat,cflags) $(call pc,hwloc,cflags)
LIB_LIBS    := $(call pc,libcurl,libs) $(call pc,openssl,libs) $(call pc,libisal,libs) $(call pc,expat,libs) $(call pc,hwloc,libs) -lm
# jansson: the CLI's --json, credentials file and ECS metadata, and ossemu's
# JSON (callbacks, /-/stats, the metadata service); the library does not link it.
JANSSON_CFLAGS := $(call pc,jansson,cflags)
JANSSON_LIBS := $(call pc,jansson,libs)
MHD_CFLAGS  := $(call pc,libmicrohttpd,cflags)
MHD_LIBS    := $(call pc,libmicrohttpd,libs)
CMOCKA_CFLAGS := $(call pc,cmocka,cflags)
CMOCKA_LIBS := $(call pc,cmocka,libs)
endif

# The core that engine and ossemu share: checksums, signatures, XML, buffers.
CORE_SRC   := engine/buf.c engine/checksum.c engine/md5mb.c engine/md5mb_avx2.c \
              engine/md5mb_avx512.c engine/sign.c engine/xml.c
ENGINE_SRC := $(filter-out $(CORE_SRC),$(wildcard engine/*.c))
CLI_SRC    := $(wildcard engine/cli/*.c)
OSSEMU_SRC := $(wildcard bench/ossemu/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard bench/tools/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

CORE_OBJ   := $(call obj,$(CORE_SRC))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
CLI_OBJ    := $(call obj,$(CLI_SRC))
# hoist-mpi (engine/mpi/), built when an MPI compiler wrapper is found.
MPICC      ?= $(shell command -v mpicc 2>/dev/null)
CLI_SHARED := $(call obj,engine/cli/args.c engine/cli/awsconfig.c engine/cli/creds.c engine/cli/output.c \
              engine/cli/tree.c engine/cli/walk.c engine/cli/mime.c \
              engine/cli/progress.c engine/cli/signals.c)
ifneq ($(MPICC),)
MPI_BIN    := $(BUILD)/hoist-mpi
endif
OSSEMU_OBJ := $(call obj,$(OSSEMU_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BIN   := $(patsubst bench/tools/%.c,$(BUILD)/%,$(TOOL_SRC))

LIBCORE := $(BUILD)/libhoistcore.a

# The library, three ways (see "The library" below):
#   libhoist.so.$(VERSION)  the shared object, SONAME libhoist.so.$(SOVERSION),
#                           exporting exactly the functions hoist.h declares
#   libhoist.a              the public archive: the same objects prelinked into
#                           one whose internal (hidden) symbols are local, so
#                           a program linking it sees only hoist_* names
#   libhoist-internal.a     the objects as they are, for unit tests that
#                           call internal functions
# SOVERSION changes only with an incompatible ABI change (tests/abi/).
SOVERSION := 0
VERSION   := $(shell sed -n 's/^.define HOIST_VERSION_STRING "\(.*\)"$$/\1/p' include/hoist.h)
SONAME    := libhoist.so.$(SOVERSION)
LIBSO     := $(BUILD)/libhoist.so.$(VERSION)
LIBHOIST  := $(BUILD)/libhoist.a
LIBHOIST_INTERNAL := $(BUILD)/libhoist-internal.a
LIB_OBJ   := $(CORE_OBJ) $(ENGINE_OBJ)

.PHONY: all deps check test demo fuzz bench bench-quick bench-rgw clean help
.PHONY: install uninstall abi-baseline
all: $(BUILD)/hoist $(BUILD)/ossemu $(LIBHOIST) $(BUILD)/$(SONAME) $(BUILD)/libhoist.so $(MPI_BIN) \
	$(UNIT_BIN) $(TOOL_BIN)

help:
	@sed -n '3,15p' Makefile

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(MHD_CFLAGS) $(CMOCKA_CFLAGS) $(JANSSON_CFLAGS) -c $< -o $@

# Library objects keep their names to themselves: only what hoist.h marks
# HOIST_EXTERN is default-visible.
$(LIB_OBJ): CFLAGS += -fvisibility=hidden

$(LIBCORE): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# ---------------------------------------------------------------- The library

$(LIBHOIST_INTERNAL): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The version script comes from the header, so that the export list cannot
# drift from the API: every "HOIST_EXTERN ... hoist_name(" line is global,
# everything else (hoist__ internals, md5_init, buf_append ...) local.
# tests/integration/test_lib_exports.sh checks the result with the
# compiler's own reading of the header.
$(BUILD)/hoist.map: include/hoist.h
	@mkdir -p $(dir $@)
	{ echo 'HOIST_$(SOVERSION) {'; echo 'global:'; \
	  sed -n 's/^HOIST_EXTERN[^(]*[^a-zA-Z0-9_]\(hoist_[a-zA-Z0-9_]*\)(.*/	\1;/p' $<; \
	  echo 'local: *;'; echo '};'; } >$@.tmp
	@grep -q 'hoist_version;' $@.tmp || { echo "no API function found in $<" >&2; exit 1; }
	mv $@.tmp $@

$(LIBSO): $(LIB_OBJ) $(BUILD)/hoist.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=$(BUILD)/hoist.map -Wl,-z,defs -Wl,--as-needed \
		-o $@ $(LIB_OBJ) $(LIB_LIBS)

$(BUILD)/$(SONAME): $(LIBSO)
	ln -sfn $(notdir $<) $@

$(BUILD)/libhoist.so: $(BUILD)/$(SONAME)
	ln -sfn $(notdir $<) $@

# One relocatable object, then every hidden symbol made local: the internal
# cross-file names resolve inside it and are invisible to the program that
# links the archive, as they are in the .so.
$(BUILD)/obj/libhoist-public.o: $(LIB_OBJ)
	$(LD) -r -o $@.tmp $^
	$(OBJCOPY) --localize-hidden $@.tmp $@
	rm -f $@.tmp

$(LIBHOIST): $(BUILD)/obj/libhoist-public.o
	rm -f $@ && ar rcs $@ $<

# The CLI is a client of hoist.h: it links the public archive, where no
# internal name is left to call by mistake.  Static, so that a run pays
# for no extra shared object at start-up.
$(BUILD)/hoist: $(CLI_OBJ) $(LIBHOIST)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(CLI_OBJ) $(LIBHOIST) $(JANSSON_LIBS) $(LIB_LIBS)

# hoist-mpi (make deps installs Open MPI): the CLI's shared option, output
# and progress code and the public archive, compiled and linked by mpicc.
$(BUILD)/hoist-mpi: engine/mpi/main.c $(CLI_SHARED) $(LIBHOIST)
	OMPI_CC=$(CC) $(MPICC) $(CPPFLAGS) -Iengine/cli $(CFLAGS) $(JANSSON_CFLAGS) $(LDFLAGS) -o $@ \
		engine/mpi/main.c $(CLI_SHARED) $(LIBHOIST) $(JANSSON_LIBS) $(LIB_LIBS)

$(BUILD)/ossemu: $(OSSEMU_OBJ) $(LIBCORE)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OSSEMU_OBJ) $(LIBCORE) $(MHD_LIBS) $(JANSSON_LIBS) $(LIB_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBHOIST_INTERNAL)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(CMOCKA_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHOIST_INTERNAL) $(CMOCKA_LIBS) $(LIB_LIBS)

$(BUILD)/%: bench/tools/%.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCORE) $(LIB_LIBS)

deps:
	sh tests/deps.sh

# ------------------------------------------------------------------ Install
# Everything installed stands on its own: the CLI links libhoist statically,
# the .so names its dependencies by SONAME, nothing points into build/.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
INSTALLED  := $(BINDIR)/hoist $(LIBDIR)/libhoist.so.$(VERSION) $(LIBDIR)/$(SONAME) \
	$(LIBDIR)/libhoist.so $(LIBDIR)/libhoist.a $(INCLUDEDIR)/hoist.h \
	$(LIBDIR)/pkgconfig/hoist.pc $(MANDIR)/man1/hoist.1

install: $(BUILD)/hoist $(LIBSO) $(LIBHOIST)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/hoist $(DESTDIR)$(BINDIR)/hoist
	install -m 0755 $(LIBSO) $(DESTDIR)$(LIBDIR)/
	ln -sfn libhoist.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libhoist.so
	install -m 0644 $(LIBHOIST) $(DESTDIR)$(LIBDIR)/libhoist.a
	install -m 0644 include/hoist.h $(DESTDIR)$(INCLUDEDIR)/hoist.h
	install -m 0644 engine/cli/hoist.1 $(DESTDIR)$(MANDIR)/man1/hoist.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		hoist.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/hoist.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/hoist.pc
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# The README's second command.  Installs what is missing, then runs the
# plain suite, the ASan+UBSan suite and the TSan suite; the last line is
# "N passed, N failed".
check: deps
	$(MAKE) all
	$(MAKE) SAN=address all
	$(MAKE) SAN=thread all
	sh tests/run.sh

test: all
	sh tests/run.sh --quick

demo:
	sh tests/deps.sh --quiet
	$(MAKE) all
	sh bench/demo.sh

FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) all
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

bench:
	$(MAKE) all
	sh bench/harness.sh full

bench-quick:
	$(MAKE) all
	sh bench/harness.sh quick

# hoist (S3 dialect) and the S3 peers against a single-node Ceph RGW.
bench-rgw:
	$(MAKE) all
	sh bench/harness.sh rgw

# The ABI baseline tests/integration/test_lib_abi.sh compares against
# (tests/abi/README.md): run after a deliberate ABI change, and commit the
# result.  From a plain build: its DWARF is what describes the layouts.
abi-baseline: $(LIBSO)
	@[ -z "$(SAN)" ] || { echo "abi-baseline: use a plain build, not SAN=$(SAN)" >&2; exit 1; }
	abidw --headers-dir $(CURDIR)/include --drop-private-types --exported-interfaces-only \
		--no-corpus-path --no-comp-dir-path --short-locs $(LIBSO) >tests/abi/libhoist.abi.tmp
	mv tests/abi/libhoist.abi.tmp tests/abi/libhoist.abi
	sh tests/abi/check.sh $(LIBSO)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
