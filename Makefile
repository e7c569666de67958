# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_UPDATED := /tmp/.xinyong-apt-updated

.PHONY: demo test lint typecheck pytest bench bench-deps system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# System packages the tests need, installed with apt-get only when missing.
system-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL (tests run a throwaway server on 127.0.0.1)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

demo: $(VENV)/.installed
	$(BIN)/xinyong demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev system-deps
	$(BIN)/pytest

test: lint typecheck pytest

# wrk drives the HTTP check benchmark (checks.http).
bench-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "installing wrk (HTTP load generator for the checks benchmark)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

bench: $(VENV)/.installed-dev system-deps bench-deps
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
