# SPDX-License-Identifier: GPL-2.0-only
# fuzz/fuzz.mk - GNU make rules for the libFuzzer harnesses.
#
# Run through the targets in fuzz/Makefile.inc (`make fuzz-build`, `make fuzz-smoke`,
# `make fuzz`), which pass the configured flags and the library's source list.  Automake
# never reads this file, so it may use GNU make's functions and pattern rules.
#
# Everything is built by $(CLANG) with -fsanitize=fuzzer,address,undefined into fuzz/obj/
# (under the build directory), library sources included: the gcc-built lib/libiomapck.a has
# no coverage instrumentation and is not used.
#
# Variables from Makefile.inc: CLANG, top_srcdir, top_builddir (absolute), FUZZ_CPPFLAGS,
# FUZZ_LIBS, LIB_SOURCES (relative to top_srcdir), GEN_SOURCES (relative to top_builddir),
# FUZZ_RUNS, FUZZ_SECONDS.

CLANG ?= clang
FUZZ_RUNS ?= 20000
FUZZ_SECONDS ?= 60
O := fuzz/obj
A := fuzz/artifacts
C := fuzz/corpus
HARNESSES := image quota log
# -max_len per harness: a whole image (<= 4 MiB), a quota file (<= 64 blocks of 1 KiB)
MAXLEN_image := 4194304
MAXLEN_quota := 65536
MAXLEN_log := 1048576
LIMITS := -timeout=5 -rss_limit_mb=2048

SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Library objects: instrumented for coverage, without libFuzzer's main.
LIBSAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FCFLAGS := -g -O1 -Wall -Wno-unused-parameter
FCPPFLAGS := -I$(top_builddir) -I$(top_builddir)/lib -I$(top_srcdir)/lib -I$(top_srcdir)/fuzz \
	$(FUZZ_CPPFLAGS)

LIB_OBJS := $(patsubst %.c,$(O)/src/%.o,$(filter %.c,$(LIB_SOURCES))) \
	$(patsubst %.c,$(O)/gen/%.o,$(filter %.c,$(GEN_SOURCES)))
BINS := $(addprefix $(O)/fuzz_,$(HARNESSES))

# Prints nothing and succeeds when $(CLANG) can build and link a libFuzzer target with
# ASan and UBSan; otherwise prints the reason and fails.
PROBE = command -v $(CLANG) >/dev/null 2>&1 || { echo "$(CLANG) not found (set CLANG=)"; exit 1; }; \
	t=$$(mktemp -d) || exit 1; \
	printf '%s\n' '\#include <stddef.h>' '\#include <stdint.h>' \
	  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	  'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }' > $$t/p.c; \
	if $(CLANG) $(SAN) $$t/p.c -o $$t/p >$$t/log 2>&1; then rm -rf $$t; exit 0; fi; \
	rm -rf $$t; \
	echo "$(CLANG) cannot link -fsanitize=fuzzer,address,undefined (Debian 12: apt-get install libclang-rt-14-dev)"; \
	exit 1

.PHONY: build smoke run clean probe
# keep the objects the pattern rules chain through
.SECONDARY:
.DEFAULT_GOAL := build

probe:
	@why=$$( ( $(PROBE) ) ) || { echo "fuzz: $$why" >&2; exit 1; }

build: probe
	@$(MAKE) -f $(top_srcdir)/fuzz/fuzz.mk --no-print-directory binaries

.PHONY: binaries seeds
binaries: $(BINS) $(O)/quota-base.img

seeds: $(O)/seeds/.stamp

$(O)/src/%.o: $(top_srcdir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $<"
	@$(CLANG) $(LIBSAN) $(FCFLAGS) $(FCPPFLAGS) -MMD -MP -c $< -o $@

$(O)/gen/%.o: $(top_builddir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $<"
	@$(CLANG) $(LIBSAN) $(FCFLAGS) $(FCPPFLAGS) -MMD -MP -c $< -o $@

$(O)/fuzz_%: $(O)/src/fuzz/fuzz_%.o $(O)/src/fuzz/mem_io.o $(LIB_OBJS)
	@echo "  FUZZLD   $@"
	@$(CLANG) $(SAN) -o $@ $^ $(FUZZ_LIBS)

$(O)/src/fuzz/fuzz_quota.o $(O)/src/fuzz/fuzz_log.o: FCPPFLAGS += -DFUZZ_QUOTA_BASE='"$(abspath $(O))/quota-base.img"'

$(O)/quota-base.img: $(top_srcdir)/fuzz/mkquotabase.sh
	@mkdir -p $(@D)
	@echo "  MKFS     $@"
	@$(SHELL) $< $@

$(O)/seeds/.stamp: $(top_srcdir)/fuzz/mkseeds.sh $(O)/quota-base.img
	@echo "  SEEDS    $(O)/seeds"
	@rm -rf $(O)/seeds && DEBUGFS_EXT=$(top_builddir)/debugfs-ext/debugfs-ext $(SHELL) $< $(O)/seeds $(O)/quota-base.img && touch $@

# Each harness for FUZZ_RUNS executions (the log harness, which sweeps up to 32 crash
# points per input, a tenth of them) from its seeds (new inputs go to a temporary
# directory, so the seeds stay as made); any crash, leak, timeout or OOM fails.
smoke:
	@why=$$( ( $(PROBE) ) ) || { echo "SKIP: fuzz-smoke: $$why"; exit 0; }; \
	$(MAKE) -f $(top_srcdir)/fuzz/fuzz.mk --no-print-directory binaries seeds smoke-run

.PHONY: smoke-run
smoke-run:
	@set -e; for h in $(HARNESSES); do \
	  mkdir -p $(A)/$$h; t=$$(mktemp -d); \
	  runs=$$(case $$h in log) echo $$(( $(FUZZ_RUNS) / 10 ));; *) echo $(FUZZ_RUNS);; esac); \
	  echo "fuzz-smoke: $$h, $$runs runs"; \
	  rc=0; $(O)/fuzz_$$h -runs=$$runs $(LIMITS) -max_len=$$(case $$h in image) echo $(MAXLEN_image);; quota) echo $(MAXLEN_quota);; log) echo $(MAXLEN_log);; esac) \
	    -print_final_stats=1 -artifact_prefix=$(A)/$$h/ $$t $(O)/seeds/$$h 2>$$t.log || rc=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done|^stat::number_of_executed_units|^stat::peak_rss_mb|ERROR|SUMMARY' $$t.log || true; \
	  rm -rf $$t; \
	  if [ $$rc != 0 ]; then tail -n 60 $$t.log; rm -f $$t.log; echo "fuzz-smoke: $$h FAILED (artifacts in $(A)/$$h/)"; exit 1; fi; \
	  rm -f $$t.log; \
	done; echo "fuzz-smoke: PASS"

# Each harness for FUZZ_SECONDS seconds, one after the other; the corpus grows in
# fuzz/corpus/<harness>/, crashes go to fuzz/artifacts/<harness>/.
run: build
	@$(MAKE) -f $(top_srcdir)/fuzz/fuzz.mk --no-print-directory seeds
	@fail=; for h in $(HARNESSES); do \
	  mkdir -p $(A)/$$h $(C)/$$h; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS) s"; \
	  $(O)/fuzz_$$h -max_total_time=$(FUZZ_SECONDS) $(LIMITS) -max_len=$$(case $$h in image) echo $(MAXLEN_image);; quota) echo $(MAXLEN_quota);; log) echo $(MAXLEN_log);; esac) \
	    -print_final_stats=1 -artifact_prefix=$(A)/$$h/ $(C)/$$h $(O)/seeds/$$h || fail="$$fail $$h"; \
	done; if [ -n "$$fail" ]; then echo "fuzz: FAILED:$$fail (see $(A)/)"; exit 1; fi

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
