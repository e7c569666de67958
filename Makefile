# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_UPDATED := /tmp/.xinyong-apt-updated
comma := ,
LOCK_OPTIONS := --generate-hashes --no-annotate --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu

.PHONY: demo demo-network test test-fast docs lock lint typecheck pytest bench bench-deps system-deps web-assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The exact versions, with their hashes, that make installs (requirements*.lock, from
# pyproject.toml by `make lock`): the service with the extras the demo uses (scorecard training,
# report charts, synthetic data), and for the tests everything, Spark included.
DEMO_EXTRAS := scorecard,reports,synth
DEV_EXTRAS := dev,spark,$(DEMO_EXTRAS)

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e '.[$(DEMO_EXTRAS)]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e '.[$(DEV_EXTRAS)]'
	touch $@ $(VENV)/.installed

# Re-resolve the lock files from pyproject.toml (newest versions its ranges allow).
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'uv>=0.9,<1'
	$(BIN)/uv pip compile pyproject.toml $(foreach e,$(subst $(comma), ,$(DEMO_EXTRAS)),--extra $(e)) \
		$(LOCK_OPTIONS) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml $(foreach e,$(subst $(comma), ,$(DEV_EXTRAS)),--extra $(e)) \
		$(LOCK_OPTIONS) -o requirements-dev.lock

# System packages the tests need, installed with apt-get only when missing.
system-deps:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL (tests run a throwaway server on 127.0.0.1)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
		echo "installing nginx (the deployment test runs the TLS proxy of docs/operations.md)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	fi
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "installing Chromium and Noto CJK fonts (the web tests drive a real browser)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# The web pages' scripts, from the npm registry at pinned versions (never a CDN at run time).
HTMX_VERSION := 2.0.8
ECHARTS_VERSION := 6.0.0
# The API documentation pages (/docs and /redoc) run from the same vendored folder.
SWAGGER_UI_VERSION := 5.36.0
REDOC_VERSION := 2.5.4
VENDOR := src/xinyong/web/static/vendor
VENDORED := $(VENDOR)/.htmx-$(HTMX_VERSION)-echarts-$(ECHARTS_VERSION)-swagger-ui-$(SWAGGER_UI_VERSION)-redoc-$(REDOC_VERSION)
$(VENDORED):
	@command -v npm >/dev/null 2>&1 || { \
		echo "installing npm (the pages' scripts come from the npm registry)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	rm -rf build/npm $(VENDOR) && mkdir -p build/npm $(VENDOR)
	cd build/npm && npm pack --silent htmx.org@$(HTMX_VERSION) echarts@$(ECHARTS_VERSION) \
		swagger-ui-dist@$(SWAGGER_UI_VERSION) redoc@$(REDOC_VERSION) >/dev/null
	tar -xzf build/npm/htmx.org-$(HTMX_VERSION).tgz -C build/npm package/dist/htmx.min.js
	cp build/npm/package/dist/htmx.min.js $(VENDOR)/htmx.min.js
	tar -xzf build/npm/echarts-$(ECHARTS_VERSION).tgz -C build/npm package/dist/echarts.min.js
	cp build/npm/package/dist/echarts.min.js $(VENDOR)/echarts.min.js
	tar -xzf build/npm/swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz -C build/npm \
		package/swagger-ui-bundle.js package/swagger-ui.css
	cp build/npm/package/swagger-ui-bundle.js build/npm/package/swagger-ui.css $(VENDOR)/
	tar -xzf build/npm/redoc-$(REDOC_VERSION).tgz -C build/npm package/bundles/redoc.standalone.js
	cp build/npm/package/bundles/redoc.standalone.js $(VENDOR)/redoc.standalone.js
	touch $@

# axe-core checks the pages' accessibility in the browser tests; it is never served.
AXE_VERSION := 4.11.1
AXE := build/axe-core-$(AXE_VERSION)/axe.min.js
$(AXE):
	@command -v npm >/dev/null 2>&1 || { \
		echo "installing npm (the pages' scripts come from the npm registry)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	rm -rf build/axe-npm && mkdir -p build/axe-npm $(dir $(AXE))
	cd build/axe-npm && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	tar -xzf build/axe-npm/axe-core-$(AXE_VERSION).tgz -C build/axe-npm package/axe.min.js
	cp build/axe-npm/package/axe.min.js $@

web-assets: $(VENDORED) $(AXE)

demo: $(VENV)/.installed web-assets
	$(BIN)/xinyong demo

# Three nodes on 127.0.0.1: the synthetic city split across two cities under a province.
demo-network: $(VENV)/.installed web-assets
	$(BIN)/python -m xinyong.testing.network_demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks docs/reference.py
	$(BIN)/ruff format --check src tests benchmarks docs/reference.py
	$(BIN)/lint-imports  # the layers of pyproject.toml: no upward import, no cycle

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# In parallel, one worker a core (pytest-xdist): each worker has its own temporary folders and
# its own throwaway PostgreSQL server; the Spark tests share one worker, so one JVM starts.
PARALLEL := -n auto --dist loadgroup

# The tests keep compiled modules (in the ignored __pycache__ folders) even where the
# environment asks Python not to write them: every worker, and every command a test runs in a
# process of its own, would otherwise compile the sources and rewrite the tests' asserts again.
pytest test-fast: export PYTHONDONTWRITEBYTECODE :=

# Everything, with the coverage of src/xinyong: the total and each file not fully covered. One
# area: make pytest PARALLEL="-n 1 tests/ledger" COVERAGE_REPORT=--show-missing
# SlipCover measures and coverage.py counts and reports (tests/report_coverage.py says why).
pytest: $(VENV)/.installed-dev system-deps web-assets
	@mkdir -p build && rm -f build/coverage.json; \
	$(BIN)/python -m slipcover --source $(CURDIR)/src/xinyong --json --out build/coverage.json \
		-m pytest $(PARALLEL); \
	status=$$?; \
	if [ -s build/coverage.json ]; then \
		$(BIN)/python tests/report_coverage.py build/coverage.json $(COVERAGE_REPORT); fi; \
	exit $$status

# ruff and import-linter first (seconds), then mypy beside the tests rather than before them: on
# a fresh clone mypy has no cache and takes half a minute of one core.
test: lint
	@$(MAKE) --no-print-directory -j2 typecheck pytest

# The quick loop while working: all but the browser, Spark, PostgreSQL and slow end-to-end tests,
# each property with fewer examples (the xinyong-fast profile of tests/conftest.py).
test-fast: $(VENV)/.installed-dev web-assets
	$(BIN)/pytest $(PARALLEL) --hypothesis-profile=xinyong-fast -m "not browser and not spark and not postgres and not slow"

# The documents' generated sections (docs/reference.py): the README's command table and
# settings, and every measured figure a document quotes, from docs/performance.json.
GENERATED_DOCS := README.md $(shell grep -l '\[\[\[cog' docs/*.md)
docs: $(VENV)/.installed-dev
	$(BIN)/cog -I docs -r $(GENERATED_DOCS)

# wrk drives the HTTP check benchmark (checks.http).
bench-deps:
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "installing wrk (HTTP load generator for the checks benchmark)"; \
		[ -f $(APT_UPDATED) ] || { apt-get update -qq && touch $(APT_UPDATED); }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

bench: $(VENV)/.installed-dev system-deps bench-deps
	$(BIN)/python benchmarks/run.py
	$(MAKE) docs  # the figures the documents quote

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info $(VENDOR)
