# capi/capi.mk — the C ABI: libinterstice.so / .a / interstice.pc, install,
# C tests, the C example and the C noop benchmark. Included by the top
# Makefile (`include capi/capi.mk`); every variable it reads has a default
# here so it also works alone: `make -f capi/capi.mk lib`.
#
#   make lib                      build/libinterstice.so, .a, interstice.pc
#   make install PREFIX=/usr/local   header, libraries, .pc
#   make test-c                   header check (C99 + C++), C tests, vectors
#   make example-c                build and run examples/c/counter
#   make bench-c                  C benchmarks (noop call, durable calls and appends,
#                                 1 and 8 threads) and the C/Go noop-call ratio
#
# cgo builds are slow (~1 min cold on 2 cores): the library is rebuilt only
# when a Go source of the packages it links changes.

GO       ?= go
BUILD    ?= build
WASM     ?= $(BUILD)/wasm
PREFIX   ?= /usr/local
CC       ?= cc
CXX      ?= c++

# The version is the header's (INTERSTICE_VERSION_STRING), as capi/version.go's.
CAPI_VERSION := $(shell sed -n 's/^#define INTERSTICE_VERSION_STRING "\(.*\)"/\1/p' include/interstice.h)
CAPI_ABI     := 1
CAPI_SONAME  := libinterstice.so.$(CAPI_ABI)
CAPI_GOWASM  := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared
CAPI_TMP     := $(BUILD)/capi
CAPI_SO      := $(BUILD)/libinterstice.so
CAPI_A       := $(BUILD)/libinterstice.a
CAPI_PC      := $(BUILD)/interstice.pc
CAPI_TESTBIN := $(BUILD)/tests/c
CAPI_GOSRC   := $(shell find capi core persistence row fbs internal -name '*.go' ! -name '*_test.go' 2>/dev/null) \
                capi/capi_internal.h include/interstice.h go.mod go.sum

# C flags of tests and examples. The programs use POSIX (fork, kill,
# mkdtemp, clock_gettime), hence the feature-test macro; the header itself
# is checked with plain -std=c99 -pedantic in capi-header-check.
CAPI_WARN    := -Wall -Wextra -Werror
CAPI_CFLAGS  := -std=c99 $(CAPI_WARN) -O2 -g -D_POSIX_C_SOURCE=200809L -Iinclude -pthread
CAPI_LDLIBS  := -L$(BUILD) -linterstice -Wl,-rpath,$(abspath $(BUILD)) -pthread

CAPI_TESTS   := test_basics test_log test_runtime test_durable test_misuse test_threads test_crash test_vectors test_hostlog test_lengths test_async
CAPI_WASMS   := noop trapper limits counter caller callee

.PHONY: lib install test-install test-c capi-header-check example-c bench-c capi-wasm capi-clean

lib: $(CAPI_SO) $(CAPI_A) $(CAPI_PC)

$(CAPI_SO): $(CAPI_GOSRC)
	@mkdir -p $(CAPI_TMP)
	$(GO) build -buildmode=c-shared -trimpath \
	  -ldflags '-extldflags "-Wl,-soname,$(CAPI_SONAME)"' \
	  -o $(CAPI_TMP)/libinterstice.so ./capi
	cp $(CAPI_TMP)/libinterstice.so $@
	ln -sf libinterstice.so $(BUILD)/$(CAPI_SONAME)

$(CAPI_A): $(CAPI_GOSRC)
	@mkdir -p $(CAPI_TMP)
	$(GO) build -buildmode=c-archive -trimpath -o $(CAPI_TMP)/libinterstice.a ./capi
	cp $(CAPI_TMP)/libinterstice.a $@

$(CAPI_PC): capi/capi.mk
	@mkdir -p $(BUILD)
	printf '%s\n' \
	  'prefix=$(PREFIX)' \
	  'libdir=$${prefix}/lib' \
	  'includedir=$${prefix}/include' \
	  '' \
	  'Name: interstice' \
	  'Description: Embeddable durable deterministic WebAssembly runtime (C ABI)' \
	  'Version: $(CAPI_VERSION)' \
	  'Libs: -L$${libdir} -Wl,-rpath,$${libdir} -linterstice' \
	  'Libs.private: -lpthread -lm' \
	  'Cflags: -I$${includedir}' > $@

# install: the header, the libraries, interstice.pc and the CLI. Programs
# linked with `pkg-config --libs interstice` carry an rpath to PREFIX/lib,
# so they find the library in any prefix. For a system prefix (/usr/local,
# /usr) installed by root without DESTDIR, ldconfig refreshes the loader's
# cache so that programs linked without the rpath find it too.
install: lib cli
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/interstice.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(CAPI_SO) $(DESTDIR)$(PREFIX)/lib/$(CAPI_SONAME)
	ln -sf $(CAPI_SONAME) $(DESTDIR)$(PREFIX)/lib/libinterstice.so
	install -m 644 $(CAPI_A) $(DESTDIR)$(PREFIX)/lib/
	sed 's|^prefix=.*|prefix=$(PREFIX)|' $(CAPI_PC) > $(DESTDIR)$(PREFIX)/lib/pkgconfig/interstice.pc
	install -m 755 $(BUILD)/interstice $(DESTDIR)$(PREFIX)/bin/interstice
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null && \
	    { [ "$(PREFIX)" = /usr/local ] || [ "$(PREFIX)" = /usr ]; }; then ldconfig; fi

# ---- guest modules the C tests use ----

capi-wasm: $(addprefix $(WASM)/,$(addsuffix .wasm,$(CAPI_WASMS)))

CAPI_SDKSRC := $(shell find sdk/go -name '*.go' ! -name '*_test.go' 2>/dev/null)
$(WASM)/%.wasm: tests/modules/go/%/main.go $(CAPI_SDKSRC)
	@mkdir -p $(WASM)
	$(CAPI_GOWASM) -o $@ ./tests/modules/go/$*
$(WASM)/counter.wasm: examples/counter/main.go $(CAPI_SDKSRC)
	@mkdir -p $(WASM)
	$(CAPI_GOWASM) -o $@ ./examples/counter

# ---- tests ----

capi-header-check:
	@mkdir -p $(CAPI_TESTBIN)
	$(CC) -std=c99 -pedantic $(CAPI_WARN) -fsyntax-only -x c include/interstice.h
	$(CXX) -std=c++11 -pedantic $(CAPI_WARN) -fsyntax-only -x c++ include/interstice.h
	$(CXX) -std=c++11 -pedantic $(CAPI_WARN) -Iinclude -c tests/c/header_cxx.cpp -o $(CAPI_TESTBIN)/header_cxx.o

$(CAPI_TESTBIN)/%: tests/c/%.c tests/c/testutil.h include/interstice.h $(CAPI_SO)
	@mkdir -p $(CAPI_TESTBIN)
	$(CC) $(CAPI_CFLAGS) -o $@ $< $(CAPI_LDLIBS)

# The same log test linked statically against the c-archive.
$(CAPI_TESTBIN)/test_log_static: tests/c/test_log.c tests/c/testutil.h include/interstice.h $(CAPI_A)
	@mkdir -p $(CAPI_TESTBIN)
	$(CC) $(CAPI_CFLAGS) -o $@ $< $(CAPI_A) -pthread -lm

test-c: capi-header-check lib capi-wasm $(addprefix $(CAPI_TESTBIN)/,$(CAPI_TESTS) test_log_static)
	BUILD=$(BUILD) WASM=$(WASM) tests/c/run.sh $(CAPI_TESTS) test_log_static

example-c: lib $(WASM)/counter.wasm
	@mkdir -p $(BUILD)/examples
	$(CC) $(CAPI_CFLAGS) -o $(BUILD)/examples/counter examples/c/counter.c $(CAPI_LDLIBS)
	$(BUILD)/examples/counter $(WASM)/counter.wasm

# The noop call from C against the same call from Go (capi/noop_bench_test.go:
# same module, same default config). The machine is shared, so the two
# alternate 5 times and each side is read by its best run.
bench-c: lib $(WASM)/noop.wasm $(CAPI_TESTBIN)/bench_noop
	$(CAPI_TESTBIN)/bench_noop $(WASM)/noop.wasm
	@$(GO) test -c -o $(CAPI_TMP)/capi.test ./capi
	@rm -f $(BUILD)/bench-noop.txt; for i in 1 2 3 4 5; do \
	  $(CAPI_TESTBIN)/bench_noop --noop-only $(WASM)/noop.wasm >> $(BUILD)/bench-noop.txt || exit 1; \
	  (cd capi && $(abspath $(CAPI_TMP))/capi.test -test.run '^$$' -test.bench '^BenchmarkGoNoopCall$$') | grep '^Benchmark' >> $(BUILD)/bench-noop.txt || exit 1; \
	done
	@awk '/^c_noop_call /{if(c==""||$$2<c)c=$$2; cs=cs" "$$2} /^BenchmarkGoNoopCall/{if(g==""||$$3<g)g=$$3; gs=gs" "$$3} \
	  END{printf "noop call, 5 alternating runs: C%s ns; Go%s ns\nnoop call: C %.0f ns, Go %.0f ns (best of 5): C/Go = %.2fx (target <= 1.5x)\n", cs, gs, c, g, c/g}' \
	  $(BUILD)/bench-noop.txt

capi-clean:
	rm -rf $(CAPI_TMP) $(CAPI_SO) $(BUILD)/$(CAPI_SONAME) $(CAPI_A) $(CAPI_PC) $(CAPI_TESTBIN) $(BUILD)/examples

# make install into a temporary prefix, then build the C example with
# pkg-config alone and run it with no LD_LIBRARY_PATH: the installed
# library must be found at run time.
test-install: lib cli $(WASM)/counter.wasm
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory -s install PREFIX=$$tmp/prefix >/dev/null && \
	test -x $$tmp/prefix/bin/interstice && \
	$(CC) $(CAPI_CFLAGS) -o $$tmp/counter examples/c/counter.c \
	  $$(PKG_CONFIG_PATH=$$tmp/prefix/lib/pkgconfig pkg-config --cflags --libs interstice) && \
	env -u LD_LIBRARY_PATH $$tmp/counter $(WASM)/counter.wasm >$$tmp/out 2>&1 || { cat $$tmp/out; echo "test-install: FAIL"; exit 1; }; \
	echo "test-install: ok (pkg-config build in a fresh prefix runs without LD_LIBRARY_PATH)"
