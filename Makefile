# Interstice — build, test, bench and demo.
#
#   make            build the CLI, the example modules and libinterstice (.so, .a, .pc)
#   make demo       run the whole story end to end
#   make test       every test (generated-code check, vet, unit, crash, fuzz smoke)
#   make test-cluster  the long cluster test (leader SIGKILLed 10 times, 5,000 calls)
#   make bench      side-by-side benchmarks (results: bench/RESULTS.md)
#   make generate   regenerate FlatBuffers code from fbs/ with Debian's flatc
#   make tools      install missing build tools (apt, as root) or print the command

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

.PHONY: all tools cli wasm demo test test-go test-cluster test-fuzz test-bindings check-generated vet generate bench clean

all: cli wasm lib

# The C ABI: lib, install, test-c, example-c, bench-c (see capi/capi.mk).
include capi/capi.mk
# The bindings: test-python, bench-python / test-node, bench-node.
-include bindings/python/python.mk
-include bindings/node/node.mk

# Every tool the build and the tests use (scripts/ensure-tools.sh): installed
# with apt-get when missing and run as root on Debian, else the exact
# command is printed.
tools:
	@scripts/ensure-tools.sh

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

generate: tools
	fbs/generate.sh

check-generated: tools
	fbs/generate.sh --check

# Every Go file but flatc's output, found without git (a tarball has no
# .git), so gofmt always gets file arguments and never reads stdin.
GOFMT_FILES = $(shell find . -name '*.go' -not -path './fbs/fb/*' -not -path './build/*' \
                -not -path '*/node_modules/*' -not -path './.git/*')

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $(GOFMT_FILES))" || { gofmt -l $(GOFMT_FILES); echo "gofmt: files above need formatting"; exit 1; }

test: check-generated vet test-go test-fuzz test-c test-install test-bindings

test-go: tools
	$(GO) test -p 2 -timeout 15m -count=1 ./...

# The long cluster tests (make test runs a short version of the first):
# three `interstice serve` processes, the leader SIGKILLed 10 times, 5,000
# acknowledged calls; and a node joining a cluster of 100k transactions
# (docs/CLUSTER.md).
test-cluster: tools
	INTERSTICE_CLUSTER_LONG=1 $(GO) test -count=1 -timeout 15m -run 'TestServeCluster' -v ./cmd/interstice/
	INTERSTICE_CLUSTER_LONG=1 $(GO) test -count=1 -timeout 15m -run 'TestJoinLargeCluster' -v ./cluster/

# Short fuzz smoke runs of the two decoders the issues name, and of the
# row check's one-pass fast path against the general one (the committed
# corpora of every fuzz target, FuzzInstrument's included, also run as plain
# tests in test-go; run FuzzInstrument by hand: it explores far more).
test-fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSegment$$' -fuzztime $(FUZZ_SEGMENT_EXECS) ./persistence/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_ROW_EXECS) ./row/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckKey$$' -fuzztime $(FUZZ_ROW_EXECS) ./row/
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeMatchesRowBuild$$' -fuzztime $(FUZZ_SDK_EXECS) ./sdk/go/

# The bindings' tests, when their fragments are present.
test-bindings: $(if $(wildcard bindings/python/python.mk),test-python) $(if $(wildcard bindings/node/node.mk),test-node)

demo: tools all
	bash examples/demo.sh

# The Go/C benchmarks write bench/RESULTS.md; the Python and Node sections
# are appended to it by the same run.
bench: tools lib $(WASM)/noop.wasm $(CAPI_TESTBIN)/bench_noop
	cd bench && $(GO) run . -out RESULTS.md
	$(MAKE) --no-print-directory bench-python PY_BENCH_OUT=$(abspath bench/RESULTS.md)
	$(MAKE) --no-print-directory bench-node BENCH_NODE_OUT=$(abspath bench/RESULTS.md)

clean:
	rm -rf $(BUILD)
