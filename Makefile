# Top-level entry points. Everything real happens in Meson; this file only
# strings the steps together for people and for CI.
BUILD      ?= build
ASAN_BUILD ?= build-asan
PYTHON     := /usr/bin/python3
PYTEST     := $(PYTHON) -m pytest

.PHONY: all deps build build-asan check unit api fuzz demo bench format clean

all: build

deps:
	scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# Unit tests run under AddressSanitizer and UBSan.
unit: build-asan
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs

# API tests run against the sanitized weftd, so that a memory error in a
# request path fails the suite.
api: build-asan build
	WEFT_BUILD=$(CURDIR)/$(ASAN_BUILD) $(PYTEST) -q tests/api

# Fuzzing of every parser that takes outside input, for a bounded time.
FUZZ_SECONDS ?= 30
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

check: deps
	$(MAKE) unit
	$(MAKE) api
	$(MAKE) e2e
	$(MAKE) fuzz

# End-to-end tests in a lab of network namespaces (lab/weft-lab) with the
# release build's weftd and weft-agent; they skip where namespaces cannot be
# made (not root) or the agent is not built.
.PHONY: e2e demo-down
e2e: build
	WEFT_BUILD=$(CURDIR)/$(BUILD) $(PYTEST) -q -rs tests/e2e

# A 3-host lab with two tenants; it stays up until 'make demo-down'.
demo: deps build
	BUILD=$(CURDIR)/$(BUILD) scripts/demo

demo-down:
	lab/weft-lab down

bench: deps build
	bench/api-bench.sh $(BUILD)
	bench/datapath-bench --build $(BUILD)
	bench/sg-bench --build $(BUILD)
	bench/gw-bench --build $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
