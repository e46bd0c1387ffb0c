# bindings/node/node.mk — the Node.js package (bindings/node) and its
# benchmarks (bench/node). Included by the top Makefile
# (`include bindings/node/node.mk`); it uses GO, BUILD and WASM from there
# and the lib and $(WASM)/NAME.wasm rules of capi/capi.mk.
#
#   make node          npm ci in bindings/node: builds the addon against build/libinterstice.so
#   make test-node     node, the test modules, then node --test (a few minutes)
#   make bench-node    bench/node side by side with C, Extism and better-sqlite3;
#                      appends a Markdown section to $(BENCH_NODE_OUT)
#
# npm and node-gyp never download Node headers: NODE_DIR is the prefix of the
# running node (Debian: /usr, headers in /usr/include/node); install.js and
# node-gyp (for better-sqlite3) get it as npm_config_nodedir.

NODE        ?= node
NPM         ?= npm
NODE_DIR    ?= $(shell $(NODE) -p "require('path').resolve(process.execPath, '..', '..')" 2>/dev/null)
NODE_PKG    := bindings/node
NODE_WASMS  := counter noop alltypes trapper limits
NODE_ENV    := INTERSTICE_LIB=$(abspath $(BUILD)/libinterstice.so) npm_config_nodedir=$(NODE_DIR)
NODE_STAMP  := $(NODE_PKG)/build/Release/interstice.node
NODE_SRC    := $(NODE_PKG)/src/addon.cc $(NODE_PKG)/binding.gyp $(NODE_PKG)/package.json \
               $(NODE_PKG)/package-lock.json $(NODE_PKG)/scripts/install.js include/interstice.h
BENCH_NODE_OUT ?= bench/RESULTS.md

.PHONY: node test-node bench-node node-clean

node: $(NODE_STAMP)

# npm ci runs the package's install script: header, status table, node-gyp
# rebuild --nodedir, libinterstice.so.1 copied next to the addon.
$(NODE_STAMP): $(BUILD)/libinterstice.so $(NODE_SRC)
	cd $(NODE_PKG) && $(NODE_ENV) $(NPM) ci --no-audit --no-fund --prefer-offline
	@touch $@

test-node: lib node $(addprefix $(WASM)/,$(addsuffix .wasm,$(NODE_WASMS)))
	cd $(NODE_PKG) && WASM=$(abspath $(WASM)) $(NODE_ENV) INTERSTICE_TEST_CACHE=$(abspath $(BUILD))/node-test-cache \
	  $(NODE) --test --test-concurrency=1 --test-reporter=spec test/*.test.js

bench-node: lib node $(WASM)/noop.wasm $(CAPI_TESTBIN)/bench_noop
	cd bench/node && npm_config_nodedir=$(NODE_DIR) $(NPM) ci --no-audit --no-fund --prefer-offline
	$(NODE) bench/node/bench.js --wasm $(WASM)/noop.wasm --c-bench $(CAPI_TESTBIN)/bench_noop --out $(BENCH_NODE_OUT)

node-clean:
	rm -rf $(NODE_PKG)/build $(NODE_PKG)/node_modules $(NODE_PKG)/include $(NODE_PKG)/gen bench/node/node_modules
