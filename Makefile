# The two commands of the README: `make demo` and `make test`. `make setup` is the idempotent install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: setup frontend java demo demo-data demo-serve test test-e2e test-services clean

setup: $(STAMP) frontend java

# Java 17 for the Spark engine and its tests (Debian's openjdk-17-jre-headless when missing).
java:
	bash scripts/install-java.sh

# The React UI, built to frontend/dist (npm ci only when the lock changed; build only when a source is newer).
frontend:
	bash frontend/build.sh

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The demo: 1M orders with the batching-policy regression, analysed and stored (incidents and the metric cube)
# in the service; a billing migration reconciled; a simulated platform migration's signals (400 merchants)
# loaded and analysed; an engineer and a PM token; then the server with the UI. `demo-data` is everything but
# the server, at any size (scripts/demo-data.sh: the browser tests run it at 200k orders); it always starts
# over in DEMO_DIR. `demo-serve` serves what the last `make demo` left (README, "The demo").
DEMO_ORDERS ?= 1000000
DEMO_ACCOUNTS ?= 200000
DEMO_MERCHANTS ?= 400
DEMO_PORT ?= 8000
DEMO_DATA = DEMO_DIR=$(DEMO_DIR) DEMO_ORDERS=$(DEMO_ORDERS) DEMO_ACCOUNTS=$(DEMO_ACCOUNTS) \
	DEMO_MERCHANTS=$(DEMO_MERCHANTS) CXW=$(VENV)/bin/cxw bash scripts/demo-data.sh
DEMO_SERVE = CXW_DATA_DIR=$(DEMO_DIR)/service $(VENV)/bin/cxw serve --host 127.0.0.1 --port $(DEMO_PORT)
demo: setup
	@$(DEMO_DATA)
	@echo "Serving http://127.0.0.1:$(DEMO_PORT) (Ctrl-C stops it; 'make demo-serve' starts it again on the same state)"
	$(DEMO_SERVE)

demo-data: setup
	@$(DEMO_DATA)

demo-serve:
	@grep -qx complete $(DEMO_DIR)/.cxw-demo 2>/dev/null || \
		{ echo "no complete demo in $(DEMO_DIR): run 'make demo' (or 'make demo-data') first" >&2; exit 2; }
	@echo "Serving http://127.0.0.1:$(DEMO_PORT) on the state in $(DEMO_DIR)/service (the tokens 'make demo' printed still work)"
	$(DEMO_SERVE)

# The stage order (import-linter) and the engine's types (mypy), Python (SQLite and PostgreSQL), the UI's unit
# tests, then the browser end-to-end tests.
test: setup test-services
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2 --durations=25
	cd frontend && npm test
	$(E2E)

# Browser end-to-end tests: Debian's Chromium (apt-get installs it when missing) driven by Playwright against
# `cxw serve` on what scripts/demo-data.sh (the `make demo` recipe) leaves at 200k orders; refreshes
# documents/screenshots/.
E2E = E2E_SKIP_BUILD=1 bash frontend/e2e/run.sh
test-e2e: setup
	$(E2E)

# Backend: the PostgreSQL server its tests start (tests/backend/pg.sh); installed here on a fresh machine.
test-services:
	@bash tests/backend/pg.sh install || echo "PostgreSQL unavailable: its backend tests will be skipped"

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache frontend/node_modules frontend/dist
