# Chorus top-level Makefile (GNU make).
#
# Layout it expects (see README.md):
#   common/*.c           -> $(BUILD)/lib/libcommon.a
#   shm/*.c              -> $(BUILD)/lib/libshm.a
#   proto/*.c            -> $(BUILD)/lib/libproto.a   (the peer protocol)
#   tests/unit/test_*.c  -> $(BUILD)/tests/test_*        (cmocka, one binary each)
#   tests/stress/*.c     -> $(BUILD)/tests/*              (multi-process tests)
#   bench/*.c            -> $(BUILD)/bench/bin/*          (make bench)
#   services/NAME/*.c    -> $(BUILD)/bin/chorus-NAME
#   node/*.c             -> $(BUILD)/bin/chorusd
#   tools/NAME/*.c       -> $(BUILD)/bin/NAME
#   fuzz/fuzz_*.c        -> build/fuzz/fuzz/fuzz_*   (make fuzz: clang, libFuzzer)
#
# Everything is built out of tree under $(BUILD) (default build/).  The
# sanitizer builds use their own trees (build/asan, build/tsan) so they never
# mix objects with the normal build.

BUILD    ?= build
SANITIZE ?=
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
# Debian's pkg-config module -> the package that provides it.  The deps target
# installs exactly these names when a module is missing.
DEP_MODULES  := libzmq msgpack libsodium liburcu liburcu-qsbr liburcu-cds cmocka libmd \
                libmicrohttpd
DEP_PACKAGES := pkg-config libzmq3-dev libmsgpack-dev libsodium-dev liburcu-dev \
                libcmocka-dev libmd-dev libmicrohttpd-dev
# Reference peers for the DHT interoperability tests, and the Python
# client's modules (clients/python, tests/integration/python_client.sh):
# installed when possible (root on Debian), one package at a time; the
# tests skip, saying why, without them.
DEP_OPTIONAL := python3-libtorrent nodejs npm python3-zmq python3-msgpack python3-nacl
# Commands the checks run, as COMMAND:PACKAGE: installed when missing.
# (make testnet-check installs the Docker engine itself: deploy/docker/testnet.sh.)
DEP_TOOLS := clang-format:clang-format ip:iproute2 ss:iproute2 timeout:coreutils setsid:util-linux

OPT      ?= -O2
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
INCS     := -I. -Icommon -Ishm -Iproto
ifneq ($(SANITIZE),)
  SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
  OPT      := -O1 -g
  CPPDEFS  := -DCH_SANITIZE=1
endif
CFLAGS   += $(CSTD) $(OPT) -g $(WARN) $(INCS) $(SANFLAGS) $(CPPDEFS) -MMD -MP
LDFLAGS  += $(SANFLAGS)

# Flags from pkg-config are computed once, after the deps check, into
# $(BUILD)/deps.mk; make re-reads it automatically (a rebuilt makefile).
-include $(BUILD)/deps.mk
CFLAGS   += $(DEP_CFLAGS)
LIBS     := $(DEP_LIBS) -lpthread -lrt -lm

COMMON_SRC := $(wildcard common/*.c)
SHM_SRC    := $(wildcard shm/*.c)
PROTO_SRC  := $(wildcard proto/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
STRESS_SRC := $(wildcard tests/stress/*.c)
TOOLT_SRC  := $(wildcard tests/tools/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
SERVICES   := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/*.c)))))
TOOLS      := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/*.c)))))
NODE_SRC   := $(wildcard node/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON := $(BUILD)/lib/libcommon.a
LIBSHM    := $(BUILD)/lib/libshm.a
LIBPROTO  := $(BUILD)/lib/libproto.a
# Each service's logic (every file but main.c) is a library too, so unit
# tests can link it: tests/unit/test_mempool_pool.c tests services/mempool/.
# Every archive also depends on its source folder, whose time changes when
# a file is added or removed there, so a moved file leaves no stale member.
SVCLIBS   := $(patsubst %,$(BUILD)/lib/libsvc-%.a,$(SERVICES))
# Link order: a library before the ones it uses (proto uses common).
INTLIBS   := $(LIBPROTO) $(LIBSHM) $(LIBCOMMON)
LINKLIBS  := -Wl,--start-group $(SVCLIBS) $(INTLIBS) -Wl,--end-group

UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
STRESS_BIN := $(patsubst tests/stress/%.c,$(BUILD)/tests/%,$(STRESS_SRC))
# helper programs the integration tests drive (not tests themselves)
TOOLT_BIN  := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOLT_SRC))
BENCH_BIN  := $(patsubst bench/%.c,$(BUILD)/bench/bin/%,$(BENCH_SRC))
# Python benches (bench/*.py): a wrapper in the bench folder runs the source
# under Debian's python3, so make bench runs them with the others
BENCH_PY   := $(patsubst bench/%.py,$(BUILD)/bench/bin/%,$(wildcard bench/*.py))
SERVICE_BIN := $(patsubst %,$(BUILD)/bin/chorus-%,$(SERVICES))
TOOL_BIN   := $(patsubst %,$(BUILD)/bin/%,$(TOOLS))
NODE_BIN   := $(if $(NODE_SRC),$(BUILD)/bin/chorusd)
PROGRAMS   := $(NODE_BIN) $(SERVICE_BIN) $(TOOL_BIN)

.PHONY: testnet-up testnet-down testnet-check
.PHONY: all deps test unit-test stress-test integration-test test-asan test-tsan test-loaded \
        bench format format-check install clean demo fuzz fuzz-smoke fuzz-build fuzz-bins \
        fuzz-seeds fuzz-deps
.DEFAULT_GOAL := all
# Objects made on the way to a program are kept.  Only objects: a blanket
# .SECONDARY would also cover the headers named in the .d files, and a
# header that moved away would then no longer force its users to rebuild.
.PRECIOUS: $(BUILD)/obj/%.o

all: $(INTLIBS) $(SVCLIBS) $(PROGRAMS) $(UNIT_BIN) $(STRESS_BIN) $(TOOLT_BIN) $(BENCH_BIN) $(BENCH_PY)

# ---------------------------------------------------------------- deps
# The one set-up target: every build step depends on the stamp it writes.
$(BUILD)/deps.mk: tools/deps.sh Makefile
	@mkdir -p $(BUILD)
	@sh tools/deps.sh "$(DEP_MODULES)" "$(DEP_PACKAGES)" "$(DEP_OPTIONAL)" "$(DEP_TOOLS)" > $@.tmp && mv $@.tmp $@

deps: $(BUILD)/deps.mk

# ---------------------------------------------------------------- compile
# V=1 shows whole command lines.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c | $(BUILD)/deps.mk
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) common
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

$(LIBSHM): $(call obj,$(SHM_SRC)) shm
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

$(LIBPROTO): $(call obj,$(PROTO_SRC)) proto
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

.SECONDEXPANSION:
$(BUILD)/lib/libsvc-%.a: $$(call obj,$$(filter-out services/$$*/main.c,$$(wildcard services/$$*/*.c))) services/%
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(INTLIBS) $(SVCLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $< $(LINKLIBS) $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/stress/%.o $(INTLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $< $(LINKLIBS) $(LIBS) -o $@

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/tools/%.o $(INTLIBS) $(SVCLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $< $(LINKLIBS) $(LIBS) -o $@

$(BUILD)/bench/bin/%: $(BUILD)/obj/bench/%.o $(INTLIBS) $(SVCLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $< $(LINKLIBS) $(LIBS) -o $@

$(BUILD)/bin/chorus-%: $(BUILD)/obj/services/%/main.o $(BUILD)/lib/libsvc-%.a $(INTLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) -Wl,--start-group $(BUILD)/lib/libsvc-$*.a $(INTLIBS) -Wl,--end-group $(LIBS) -o $@

$(BUILD)/bin/chorusd: $(call obj,$(NODE_SRC)) $(INTLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) -Wl,--start-group $(INTLIBS) -Wl,--end-group $(LIBS) -o $@

$(patsubst %,$(BUILD)/bin/%,$(TOOLS)): $(BUILD)/bin/%: $$(call obj,$$(wildcard tools/$$*/*.c)) $(INTLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(filter %.o,$^) -Wl,--start-group $(INTLIBS) -Wl,--end-group $(LIBS) -o $@

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- tests
# make test: unit tests, then multi-process stress tests, then integration
# scripts.  tools/run-tests.sh prints one line per test (PASS, FAIL or SKIP:
# exit 77) and a closing "N passed, N failed, N skipped" line; it exits
# non-zero if anything failed.  On Debian as root a skip is a failure
# (CH_ALLOW_SKIP=1 allows it); CH_TEST_TIMEOUT (default 300) limits each test.
TESTS := $(UNIT_BIN) $(STRESS_BIN) $(filter-out %/lib.sh,$(wildcard tests/integration/*.sh))
test: all
	@sh tools/run-tests.sh $(BUILD) $(TESTS)

# make test-loaded: the same suite while a CPU hog keeps every core busy
# (tools/loaded.sh), with the tests' deadlines stretched: a test that only
# passes on an idle machine is waiting for time, not for its condition.
test-loaded: all
	@sh tools/loaded.sh sh tools/run-tests.sh $(BUILD) $(TESTS)

test-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=address,undefined test

# ThreadSanitizer: the threaded variant of the ring stress test, and the
# integration tests of the transport (its I/O threads share peers, rings and
# counters) run on TSan-built programs; any report fails the test
# (tools/run-tests.sh), tools/tsan.supp names what is suppressed and why.
TSAN_TESTS := $(wildcard tests/integration/transport_*.sh)
test-tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan SANITIZE=thread all
	@CH_STRESS_THREADS=1 sh tools/run-tests.sh build/tsan build/tsan/tests/ring_stress $(TSAN_TESTS)

# ---------------------------------------------------------------- demo, testnets
# make demo [NODES=5 RATE=50 DURATION=15]: the main job (deploy/demo.sh).
NODES ?= 5
RATE ?= 50
DURATION ?= 15
demo: all
	@bash deploy/demo.sh --nodes $(NODES) --rate $(RATE) --duration $(DURATION) --build $(BUILD)

# the docker-compose testnet: seed + NODES nodes + a monitor (deploy/docker/)
testnet-up: all
	@BUILD=$(BUILD) sh deploy/docker/testnet.sh up $(NODES)
testnet-down:
	@BUILD=$(BUILD) sh deploy/docker/testnet.sh down
testnet-check: all
	@BUILD=$(BUILD) sh deploy/docker/testnet.sh check $(NODES)

# ---------------------------------------------------------------- fuzz
# libFuzzer targets (docs/fuzzing.md): every decoder a peer or a file
# reaches.  They are built with clang in their own tree, the libraries too
# (instrumented for coverage, ASan and UBSan); nothing else needs clang.
#   make fuzz [FUZZ_TIME=60] [FUZZ_TARGETS="fuzz_hello ..."]
#   make fuzz-smoke    each target for FUZZ_SMOKE_TIME seconds (CI)
#   make fuzz-seeds    rewrites fuzz/corpus/*/seed-* from the real encoders
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_SMOKE_TIME ?= 3
FUZZ_BUILD      := build/fuzz
FUZZ_SRC        := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES      := $(patsubst fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_TARGETS    ?= $(FUZZ_NAMES)
FUZZ_BIN        := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
FUZZ_WARN       := $(WARN) -Wno-unknown-warning-option

fuzz-deps:
	@sh tools/deps.sh --fuzz $(FUZZ_CC)

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    SANITIZE=fuzzer-no-link,address,undefined WARN="$(FUZZ_WARN)" fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/%: $(BUILD)/obj/fuzz/%.o $(INTLIBS) $(SVCLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -fsanitize=fuzzer $(FUZZ_LDFLAGS_$*) $< $(LINKLIBS) $(LIBS) -o $@

# fuzz_transport frees what goes to call_rcu at once (fuzz/fuzz_transport.c)
FUZZ_LDFLAGS_fuzz_transport := -Wl,--wrap=urcu_qsbr_call_rcu

fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@FUZZ_SMOKE=1 sh fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

# The seed generator is an ordinary program of the normal build.
$(BUILD)/bin/fuzz-seeds: $(BUILD)/obj/fuzz/seeds.o $(INTLIBS) $(SVCLIBS)
	@mkdir -p $(dir $@)
	$(if $(V),,@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $< $(LINKLIBS) $(LIBS) -o $@

fuzz-seeds: $(BUILD)/bin/fuzz-seeds
	@$(BUILD)/bin/fuzz-seeds fuzz/corpus

# ---------------------------------------------------------------- bench
bench: all
	@sh bench/run.sh $(BUILD)

$(BUILD)/bench/bin/%: bench/%.py
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec /usr/bin/python3 %s "$$@"\n' "$(CURDIR)/$<" >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# ---------------------------------------------------------------- style
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) && echo "format-check: ok"

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	$(if $(PROGRAMS),install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/chorus
	install -m 0644 $(INTLIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 common/*.h shm/*.h proto/*.h $(DESTDIR)$(PREFIX)/include/chorus/

clean:
	rm -rf build
