# Two commands for a fresh machine (only Python 3.11 needed):
#   make demo   – create .venv, install, generate the demo data set and process it end to end
#   make test   – create .venv, install with test extras, run the test suite
#   make bench-scale – benchmark at 1 M customers beside lifetimes, pymc-marketing, DuckDB, scipy
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo test lint ui bench bench-scale clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null
	$(BIN)/pip install -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/tierops demo

test: install
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/ruff format --check pipelines tests bench

ui: install
	$(BIN)/tierops ui

bench: install
	$(BIN)/python bench/demo_runtime.py

# the peers (lifetimes, pymc-marketing) are the optional `bench` extra, not runtime dependencies
$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install -e '.[bench]'
	touch $@

bench-scale: $(BIN)/.bench-installed
	$(BIN)/python bench/scale.py $(BENCH_ARGS)

clean:
	rm -rf data dbt_project/target dbt_project/logs
