# crgw: cross-region credit-report mutual-recognition gateway
#   make            build build/crgw
#   make test       install missing packages, build, run unit + integration tests
#   make run        install, build, start a private redis + crgw with config/demo
#   make asan       AddressSanitizer + UBSan build in build/asan (make asan-test runs the tests on it)
#   make bench      h2load: crgw /healthz vs nginx over h2c (ops/bench/h2-baseline)
#   make fuzz-smoke each libFuzzer target for FUZZ_SECONDS (default 30)
#   make check-layers  the architecture rules of gateway/ (also part of make test)

PKGS     := libnghttp2 openssl libxml-2.0 hiredis libevent libevent_openssl jansson yaml-0.1
BUILD    ?= build
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
OPT      ?= -O2 -g
SAN      ?=
WERROR   ?= -Werror
CC       ?= cc

# hiredis.pc adds -I/usr/include/hiredis, which would make "adapters/..." ambiguous (STYLE.md).
PKG_CFLAGS := $(filter-out -I/usr/include/hiredis,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -std=c11 -Wall -Wextra $(WERROR) -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
            -Wformat=2 -Wwrite-strings -Wvla -Wno-format-nonliteral
DEFS     := -D_GNU_SOURCE
CFLAGS_ALL = $(WARN) $(OPT) $(SAN) $(DEFS) -pthread -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS_ALL = $(SAN) $(PKG_LIBS) -lm -pthread



LIB_SRCS := $(wildcard gateway/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(wildcard tests/unit/*/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
SRC_GLOBS := gateway/*.[ch] gateway/*/*.[ch]

.PHONY: all deps test unit integration run bench asan asan-test fuzz fuzz-smoke clean format check-format check-banned check-layers analyze

all: $(BUILD)/crgw

# V=1 shows the whole command lines
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libcrgw.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/gateway/main.o: DEFS += -DCRGW_VERSION=\"$(VERSION)\"
# gateway/server/openapi.c embeds the description with .incbin (-MMD does not see it)
$(BUILD)/obj/gateway/server/openapi.o: gateway/openapi.yaml

$(BUILD)/crgw: $(BUILD)/obj/gateway/main.o $(BUILD)/libcrgw.a
	@$(if $(V),,echo "  LINK  $@")
	$(Q)$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcrgw.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TEST  $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags criterion) -o $@ $< $(BUILD)/libcrgw.a \
	    $(LDLIBS_ALL) $(shell pkg-config --libs criterion)

deps:
	@ops/install-deps

unit: $(TEST_BINS)
	@tests/run-unit $(BUILD)

integration: $(BUILD)/crgw
	@CRGW=$(BUILD)/crgw tests/run-integration

test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory check-banned
	@tests/check-layers

run: deps
	@$(MAKE) --no-print-directory all
	@ops/run-local

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all $(patsubst build/%,build/asan/%,$(TEST_BINS))

asan-test: asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 tests/run-unit build/asan
	@CRGW=build/asan/crgw ASAN_OPTIONS=detect_leaks=1 tests/run-integration

bench:
	@ops/install-deps --bench
	@$(MAKE) --no-print-directory all
	@CRGW=$(BUILD)/crgw ops/bench/h2-baseline

fuzz:
	@ops/install-deps --fuzz
	@tests/fuzz/build

fuzz-smoke: fuzz
	@tests/fuzz/run $${FUZZ_SECONDS:-30}

analyze:
	@$(MAKE) --no-print-directory BUILD=build/analyze OPT="-O1 -fanalyzer" all

check-banned:
	@! grep -nE '\b(sprintf|strcpy|strcat|strtok|atoi|gets|strncpy)[[:space:]]*\(' $(SRC_GLOBS) tests/unit/*/*.c || \
	    { echo "banned function used (see STYLE.md rule 21)"; exit 1; }

# layers (core <- server <- jobs <- cmd <- main.c), job public headers, no job cycle, sizes
check-layers:
	@tests/check-layers

format:
	clang-format -i $(SRC_GLOBS)

check-format:
	@clang-format --dry-run --Werror $(SRC_GLOBS) && echo "format: ok"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
