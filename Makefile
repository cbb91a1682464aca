# Every target sets up what it needs: a fresh machine with only python3 is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test test-kernels test-slow lint bench bench-quick browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gradreg demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

# The suite again under OpenBLAS kernels every x86-64 machine can run (numpy's OpenBLAS honours
# OPENBLAS_CORETYPE), so that no bound holds on one kernel's rounding only.
KERNELS := Prescott Sandybridge Haswell

test-kernels: $(STAMP)
	@for kernel in $(KERNELS); do \
	  echo "OPENBLAS_CORETYPE=$$kernel: $$(OPENBLAS_CORETYPE=$$kernel $(BIN)/python -m benchmarks.machine)"; \
	  started=$$(date +%s); \
	  OPENBLAS_CORETYPE=$$kernel $(BIN)/python -m pytest -q || exit 1; \
	  echo "OPENBLAS_CORETYPE=$$kernel: suite passed in $$(( $$(date +%s) - started )) s"; \
	done

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

$(VENV)/.bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]" "torch==2.13.0"
	touch $(VENV)/.bench

bench: $(VENV)/.bench
	@started=$$(date +%s); \
	$(BIN)/python -m benchmarks && \
	$(BIN)/python -m benchmarks.methods && \
	$(BIN)/python -m benchmarks.scale && \
	$(BIN)/python -m benchmarks.stats_pass && \
	$(BIN)/python -m benchmarks.qr_pass && \
	$(BIN)/python -m benchmarks.sgd && \
	$(BIN)/python -m benchmarks.summary && \
	$(BIN)/python -m benchmarks.accuracy && \
	echo "make bench: $$(( $$(date +%s) - started )) s in all"

bench-quick: $(VENV)/.bench
	$(BIN)/python -m benchmarks --quick

# Headless Chromium from Debian's packages, for the interactive page's browser test.
browser:
	command -v chromium >/dev/null || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium; }

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
