# hoist - build, test and benchmark.
#
#   make            build everything into build/
#   make deps       install the Debian and npm packages the build and tests need
#   make demo       deps + build, start ossemu, upload a 1 GiB file, show the result
#   make check      deps + build + every test (plain, then ASan+UBSan, TSan)
#   make SAN=address|thread   a sanitizer build in build/san-address|san-thread
#   make fuzz       libFuzzer targets (clang), run for FUZZ_SECONDS each
#   make bench / bench-quick / bench-rgw   the benchmark harness (bench/README.md)
#
# Sources are found by wildcard: a new engine/*.c joins the library, a new
# tests/unit/test_*.c becomes a test binary, a new bench/ossemu/*.c joins
# ossemu.  No recursive make.

CC      ?= cc
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
PKG_hwloc         := libhwloc-dev
PKG_expat         := libexpat1-dev
PKG_libmicrohttpd := libmicrohttpd-dev
PKG_jansson       := libjansson-dev
PKG_cmocka        := libcmocka-dev

# pkg-config, with a clear error naming the package when a library is absent.
pc = $(if $(shell pkg-config --exists $(1) && echo y),$(shell pkg-config --$(2) $(1)),$(error missing library '$(1)': install the Debian package $(PKG_$(1)) (or run 'make deps')))

# Goals that only recurse or install need no libraries at parse time (so
# that "make check" on a fresh machine can install them first).
ifneq ($(filter-out deps help clean check demo fuzz bench bench-quick bench-rgw,$(or $(MAKECMDGOALS),all)),)
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
LIB_CFLAGS  := $(call pc,libcurl,cflags) $(call pc,openssl,cflags) $(call pc,libisal,cflags) $(call pc,hwloc,cflags) $(call pc,expat,cflags)
LIB_LIBS    := $(call pc,libcurl,libs) $(call pc,openssl,libs) $(call pc,libisal,libs) $(call pc,hwloc,libs) $(call pc,expat,libs) -lm
MHD_CFLAGS  := $(call pc,libmicrohttpd,cflags)
MHD_LIBS    := $(call pc,libmicrohttpd,libs)
# JSON (callbacks, /-/stats, the metadata service): ossemu, and the CLI's
# reading of the ECS metadata service and the credentials file.
JANSSON_CFLAGS := $(call pc,jansson,cflags)
JANSSON_LIBS := $(call pc,jansson,libs)
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
OSSEMU_OBJ := $(call obj,$(OSSEMU_SRC))
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BIN   := $(patsubst bench/tools/%.c,$(BUILD)/%,$(TOOL_SRC))

LIBCORE := $(BUILD)/libhoistcore.a
LIBHOIST := $(BUILD)/libhoist.a

.PHONY: all deps check test demo fuzz bench bench-quick bench-rgw clean help
all: $(BUILD)/hoist $(BUILD)/ossemu $(UNIT_BIN) $(TOOL_BIN)

help:
	@sed -n '3,11p' Makefile

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(CMOCKA_CFLAGS) -c $< -o $@

$(LIBCORE): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBHOIST): $(CORE_OBJ) $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/hoist: $(CLI_OBJ) $(LIBHOIST)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBHOIST) $(LIB_LIBS) $(JANSSON_LIBS)

$(BUILD)/ossemu: $(OSSEMU_OBJ) $(LIBCORE)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OSSEMU_OBJ) $(LIBCORE) $(MHD_LIBS) $(JANSSON_LIBS) $(LIB_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBHOIST)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(CMOCKA_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHOIST) $(CMOCKA_LIBS) $(LIB_LIBS)

$(BUILD)/%: bench/tools/%.c $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LIB_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBCORE) $(LIB_LIBS)

deps:
	sh tests/deps.sh

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

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
