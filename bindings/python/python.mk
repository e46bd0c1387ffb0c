# bindings/python/python.mk — the Python package: tests and benchmarks.
# Included by the top Makefile (`include bindings/python/python.mk`); every
# variable it reads has a default here, so it also works alone:
#   make -f capi/capi.mk -f bindings/python/python.mk test-python
#
#   make test-python    venv (build/venv-python), install the package built
#                       against build/libinterstice.so, run pytest
#   make bench-python   Python vs C, vs Extism, vs sqlite3 (PY_BENCH_OUT=file
#                       appends the Markdown section to that file)
#
# The venv gets cffi, flatbuffers, pytest, hypothesis, build and wheel from
# the package index (pip's usual configuration). The package is installed
# with INTERSTICE_LIB pointing at the library `lib` built, so Go builds it
# once for the C tests and the Python tests alike.

GO      ?= go
BUILD   ?= build
WASM    ?= $(BUILD)/wasm
PYTHON3 ?= python3

PY_VENV   := $(BUILD)/venv-python
PY        := $(PY_VENV)/bin/python
PY_DEPS   := $(PY_VENV)/.deps-installed
PY_SRC    := $(shell find bindings/python/interstice -name '*.py' 2>/dev/null) \
             bindings/python/setup.py bindings/python/pyproject.toml bindings/python/README.md
PY_STAMP  := $(PY_VENV)/.interstice-installed
PY_WASMS  := noop counter alltypes trapper limits caller callee readonly_trap
PY_CACHE  := $(BUILD)/python-cache
PY_BENCH_OUT ?=

.PHONY: test-python bench-python python-install

$(PY_DEPS):
	$(PYTHON3) -m venv $(PY_VENV)
	$(PY) -m pip install -q --upgrade pip setuptools cffi flatbuffers pytest hypothesis build wheel
	touch $@

# The package, built from this tree against the library `lib` builds (the
# .so is copied in as a real file; see bindings/python/setup.py).
$(PY_STAMP): $(PY_DEPS) $(PY_SRC) include/interstice.h $(BUILD)/libinterstice.so
	INTERSTICE_LIB=$(abspath $(BUILD)/libinterstice.so) $(PY) -m pip install -q --no-deps \
	  --no-build-isolation --force-reinstall ./bindings/python
	rm -rf bindings/python/build bindings/python/interstice.egg-info
	touch $@

python-install: $(PY_STAMP)

# pytest runs from $(BUILD) so that `import interstice` finds the installed
# package, not the source directory.
test-python: $(PY_STAMP) $(addprefix $(WASM)/,$(addsuffix .wasm,$(PY_WASMS)))
	@mkdir -p $(PY_CACHE)
	cd $(BUILD) && INTERSTICE_TEST_WASM=$(abspath $(WASM)) INTERSTICE_TEST_ROOT=$(abspath .) \
	  INTERSTICE_TEST_CACHE=$(abspath $(PY_CACHE)) INTERSTICE_LIB=$(abspath $(BUILD)/libinterstice.so) \
	  $(abspath $(PY)) -m pytest -q -p no:cacheprovider --rootdir=$(abspath bindings/python) \
	  $(abspath bindings/python/tests) $(PYTEST_ARGS)

bench-python: $(PY_STAMP) $(WASM)/noop.wasm $(BUILD)/tests/c/bench_noop
	$(PY) -m pip install -q extism
	$(PY) bench/python/bench.py --wasm $(abspath $(WASM)) --c-bench $(abspath $(BUILD)/tests/c/bench_noop) \
	  $(if $(PY_BENCH_OUT),--out $(PY_BENCH_OUT))
