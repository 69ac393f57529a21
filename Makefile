# The two commands: `make demo` and `make test`. Both install what is
# missing (scripts/setup.sh), build, and run. Everything uses .venv/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
ASAN_BUILD := build-asan
TSAN_BUILD := build-tsan
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 20
JOBS ?= $(shell nproc)

.PHONY: all setup build python node test test-c test-example test-asan test-tsan test-fuzz test-py test-node test-rust check-layers demo bench bench-full clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

test: build check-layers test-c test-example test-asan test-tsan test-fuzz test-py test-node test-rust
	@echo "make test: all suites passed"

check-layers:
	@$(PY) tools/check-layers .

test-c: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The C library as a package: installed into $(BUILD)/install, then
# examples/c/lifecycle.c built against it through pkg-config alone and run
# on the sample corpus (written as Parquet by pyarrow).
EXAMPLE_PREFIX := $(abspath $(BUILD))/install
test-example: build
	@cmake --install $(BUILD) --prefix $(EXAMPLE_PREFIX) >/dev/null
	@$(PY) -c "import sys, pyarrow.json as j, pyarrow.parquet as q; q.write_table(j.read_json(sys.argv[1]), sys.argv[2])" \
	  examples/data/corpus.jsonl $(BUILD)/example-corpus.parquet
	@pc=$$(dirname $$(find $(EXAMPLE_PREFIX) -name infino.pc | head -n 1)) && \
	  cc -std=c11 -Wall -Wextra -Werror examples/c/lifecycle.c \
	    $$(PKG_CONFIG_PATH=$$pc pkg-config --cflags --libs infino) \
	    -Wl,-rpath,$$(PKG_CONFIG_PATH=$$pc pkg-config --variable=libdir infino) \
	    -o $(BUILD)/example-lifecycle
	@rm -rf $(BUILD)/example-db && $(BUILD)/example-lifecycle \
	  $(BUILD)/example-corpus.parquet $(BUILD)/example-db

# The C tests once more under AddressSanitizer + UndefinedBehaviorSanitizer
# (the failure-point walk tries every other point there; all in test-c).
test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_COMPILER=clang -DINFINO_SANITIZE=ON -DINFINO_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 INFINO_WALK_STRIDE=2 \
	  ctest --output-on-failure -j $(JOBS)

# The thread-heavy C tests once more under ThreadSanitizer: many threads on
# one table (api_threads_test), the worker pool, the read cache (its fill
# thread beside readers), and the table and query suites. Any report fails
# the run (halt_on_error). die_after_fork=0:
# util_tpool_test's fork case starts workers in the child of a threaded
# parent, which TSan refuses by default (it cannot vouch for its own state
# there); no report is suppressed.
TSAN_TESTS := ^(api_threads_test|api_memgc_test|util_tpool_test|store_cache_test|store_memory_test|table_.*|query_.*)$$
test-tsan: setup
	@cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DINFINO_TSAN=ON -DINFINO_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(TSAN_BUILD) -j $(JOBS)
	@cd $(TSAN_BUILD) && \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0 \
	  ctest --output-on-failure --timeout 600 -j $(JOBS) -R '$(TSAN_TESTS)'

# Each libFuzzer target runs for FUZZ_SECONDS from its seed corpus.
test-fuzz: setup
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DINFINO_FUZZ=ON -DINFINO_BUILD_TESTS=OFF \
	  -DINFINO_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(FUZZ_BUILD) -j $(JOBS)
	@scripts/run-fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The Python package, rebuilt into .venv when its sources change.
python: setup
	@scripts/install-python.sh

# The installed package's names, signatures and defaults against upstream's
# (tests/py/data/upstream_api.json; accepted differences in
# tests/py/data/api_parity_allow.txt), then the Python suites.
test-py: build python
	@$(PY) scripts/check_api_parity.py --quiet
	@INFINO_BUILD_DIR=$(abspath $(BUILD)) INFINO_LIB=$(abspath $(BUILD))/libinfino.so $(PY) -m pytest -q tests/py

# The Node.js package: the addon built by cmake-js into bindings/node/build,
# then its node:test suites (bindings/node/test), which also read and write
# tables with the Python package (built privately by scripts/dev-python.sh)
# and type-check docs/node.md's examples with tsc.
NODE_DIR := bindings/node
node: setup
	@JOBS=$(JOBS) scripts/build-node.sh

test-node: node
	@pypkg=$$(JOBS=$(JOBS) scripts/dev-python.sh build-py-node) && cd $(NODE_DIR) && \
	  INFINO_TEST_PYTHON=$(abspath $(PY)) INFINO_TEST_PYTHONPATH=$(abspath .)/$$pypkg \
	  node --test test/*.test.mjs

# The Rust crate (bindings/rust): its build.rs compiles the engine with the
# `cc` crate, then its unit, integration and doc tests run. The build
# lives in build-rust/ (git-ignored), which CI may cache between runs.
RUST_DIR := bindings/rust
RUST_BUILD := build-rust
CARGO ?= $(shell command -v cargo || echo $(HOME)/.cargo/bin/cargo)
test-rust: setup
	@cd $(RUST_DIR) && CARGO_TARGET_DIR=$(abspath $(RUST_BUILD)) CARGO_BUILD_JOBS=$(JOBS) \
	  PATH="$(dir $(CARGO)):$$PATH" $(CARGO) test --locked -q

# The multi-process stress test (tests/py/test_stress.py) run long: ROUNDS
# rounds of 1-2.5 s with kills; INFINO_STRESS_SEED=... replays a failed run.
ROUNDS ?= 100
.PHONY: stress
stress: build python
	@INFINO_STRESS_ROUNDS=$(ROUNDS) $(PY) -m pytest -q -s tests/py/test_stress.py

demo: build python
	@$(PY) examples/demo.py

# Benchmarks, ours vs peers side by side (bench/README.md); not part of
# `make test`. Peers go into bench/.venv; the library into build-bench/.
bench bench-full: python
	@bench/setup.sh
	@cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DINFINO_BUILD_TESTS=OFF >/dev/null
	@ninja -C build-bench -j 2 infino
	@bench/.venv/bin/python bench/run.py \
	  --mode $(if $(filter bench-full,$@),full,quick) --lib build-bench/libinfino.so

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(NODE_DIR)/build build-py-node $(RUST_BUILD)
