# MSC Case — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app msc
AXE    := .cache/axe/node_modules/axe-core/axe.min.js

.PHONY: run test lint setup setup-test translations browser-deps serve clean bench bench-load prod-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(MAKE) translations

# The lint tools, pinned in pyproject.toml; reinstalled only when it changes.
$(VENV)/.lint: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[lint]'
	@touch $@

# The gate every change passes: lint, formatting, types and the layer contract.
lint: $(VENV)/.lint
	$(BIN)/ruff check msc tests bench migrations config wsgi.py
	$(BIN)/ruff format --check msc tests bench migrations config wsgi.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

setup-test: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) translations browser-deps

translations:
	$(BIN)/pybabel -q compile -d msc/translations

# Debian's Chromium for the Playwright scenarios and axe-core from the npm registry.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
	@if ! command -v npm >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; fi
	@if [ ! -f $(AXE) ]; then mkdir -p .cache/axe && npm install --silent --no-audit --no-fund --prefix .cache/axe axe-core@4 >/dev/null; fi

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(FLASK) demo logins
	$(FLASK) run --host 127.0.0.1 --port 5000

# The suite on every core (pytest-xdist); `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
test: setup-test
	$(BIN)/pytest -n $(TEST_WORKERS)

# The production runbook followed by a script against local PostgreSQL and Redis (README, "Production runbook").
prod-check: setup
	$(BIN)/python config/deploy/prod_check.py

bench: setup
	$(BIN)/python -m bench.reception

# Locust desks against gunicorn on PostgreSQL and Redis (bench/README.md, "Under a region's load").
# BENCH_LOAD_ARGS: e.g. --database-url postgresql+psycopg://postgres@127.0.0.1:5432/msc_load --prepare demo
bench-load: setup
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m bench.load $(BENCH_LOAD_ARGS)

clean:
	rm -rf $(VENV) .cache instance .mypy_cache .ruff_cache
