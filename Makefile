# Interstice — build, test, bench and demo.
#
#   make            build the CLI, the example modules and libinterstice (.so, .a, .pc)
#   make demo       run the whole story end to end
#   make test       every test (generated-code check, vet, unit, crash, fuzz smoke)
#   make bench      side-by-side benchmarks (results: bench/RESULTS.md)
#   make generate   regenerate FlatBuffers code from fbs/ with Debian's flatc

GO      ?= go
BUILD   := build
WASM    := $(BUILD)/wasm
GOWASM  := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared
EXAMPLES := $(notdir $(wildcard examples/*/main.go examples/*/*.go))
# Fuzz budgets are execution counts, not durations: a duration -fuzztime can
# fail at its deadline with no crasher (Go's coordinator race, golang/go#75804,
# unfixed in Go 1.26). Roughly 10 s each on the 2-core CI machine.
FUZZ_SEGMENT_EXECS ?= 150000x
FUZZ_ROW_EXECS ?= 400000x
FUZZ_SDK_EXECS ?= 50000x

.PHONY: all cli wasm demo test test-go test-fuzz check-generated vet generate bench clean

all: cli wasm lib

# The C ABI: lib, install, test-c, example-c, bench-c (see capi/capi.mk).
include capi/capi.mk

cli:
	$(GO) build -o $(BUILD)/interstice ./cmd/interstice

# Every Go guest module under examples/ (one directory each).
wasm:
	@mkdir -p $(WASM)
	@for d in $$(ls -d examples/*/ 2>/dev/null); do \
	  if ls $$d*.go >/dev/null 2>&1; then \
	    n=$$(basename $$d); echo "wasm $$n"; \
	    $(GOWASM) -o $(WASM)/$$n.wasm ./$$d || exit 1; \
	  fi; \
	done

generate:
	fbs/generate.sh

check-generated:
	fbs/generate.sh --check

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '^fbs/fb/'))" || { gofmt -l $$(git ls-files '*.go' | grep -v '^fbs/fb/'); echo "gofmt: files above need formatting"; exit 1; }

test: check-generated vet test-go test-fuzz test-c

test-go:
	$(GO) test -p 2 -timeout 15m -count=1 ./...

# Short fuzz smoke runs of the two decoders the issues name, and of the
# row check's one-pass fast path against the general one (the committed
# corpora of every fuzz target, FuzzInstrument's included, also run as plain
# tests in test-go; run FuzzInstrument by hand: it explores far more).
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSegment$$' -fuzztime $(FUZZ_SEGMENT_EXECS) ./persistence/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_ROW_EXECS) ./row/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckKey$$' -fuzztime $(FUZZ_ROW_EXECS) ./row/
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeMatchesRowBuild$$' -fuzztime $(FUZZ_SDK_EXECS) ./sdk/go/

demo: all
	bash examples/demo.sh

bench: lib $(WASM)/noop.wasm $(CAPI_TESTBIN)/bench_noop
	cd bench && $(GO) run . -out RESULTS.md

clean:
	rm -rf $(BUILD)
