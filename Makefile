# The two commands of the README: `make demo` and `make test`. `make setup` is the idempotent install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo

.PHONY: setup frontend java demo test test-e2e test-services clean

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

# The demo: 1M orders with the batching-policy regression, analysed, stored, and served with the UI; and a
# simulated platform migration's signals (400 merchants), stored and analysed (the Signals page).
DEMO_SERVICE = CXW_DATA_DIR=$(DEMO_DIR)/service
demo: setup
	$(VENV)/bin/cxw generate cx --orders 1000000 --days 28 --seed 7 --scenario batching_policy --out $(DEMO_DIR)
	$(VENV)/bin/cxw analyze $(DEMO_DIR)/workspace.yaml --out $(DEMO_DIR)/analysis
	$(DEMO_SERVICE) $(VENV)/bin/cxw job detect $(DEMO_DIR)/workspace.yaml --incidents $(DEMO_DIR)/analysis/incidents.json
	$(VENV)/bin/cxw generate billing-migration --accounts 200000 --seed 7 --out $(DEMO_DIR)/billing
	$(VENV)/bin/cxw reconcile --legacy $(DEMO_DIR)/billing/legacy.csv --migrated $(DEMO_DIR)/billing/migrated.csv \
		--key account_id --tolerance balance=0.01 --out $(DEMO_DIR)/reconciliation; test $$? -le 1
	$(VENV)/bin/cxw signals simulate --out $(DEMO_DIR)/signals --merchants 400 --days 14 --seed 7
	$(DEMO_SERVICE) $(VENV)/bin/cxw signals load $(DEMO_DIR)/signals/signals.jsonl
	$(DEMO_SERVICE) $(VENV)/bin/cxw signals job
	@echo
	@echo "Report:     $(DEMO_DIR)/analysis/report.md   (truth: $(DEMO_DIR)/truth.json)"
	@echo "Migration:  $(DEMO_DIR)/reconciliation/report.md   (truth: $(DEMO_DIR)/billing/truth.json)"
	@echo "Sign in at http://127.0.0.1:8000 with one of these tokens (engineer, then PM read-only):"
	@$(DEMO_SERVICE) $(VENV)/bin/cxw token create --role engineer --name demo-engineer
	@$(DEMO_SERVICE) $(VENV)/bin/cxw token create --role pm --name demo-pm
	$(DEMO_SERVICE) $(VENV)/bin/cxw serve --host 127.0.0.1 --port 8000

# The stage order (import-linter) and the engine's types (mypy), Python (SQLite and PostgreSQL), the UI's unit
# tests, then the browser end-to-end tests.
test: setup test-services
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -n 2
	cd frontend && npm test
	$(E2E)

# Browser end-to-end tests: Debian's Chromium (apt-get installs it when missing) driven by Playwright against
# `cxw serve` on a 200k-order demo analysed by `cxw analyze`; refreshes documents/screenshots/ (about 3 min).
E2E = E2E_SKIP_BUILD=1 bash frontend/e2e/run.sh
test-e2e: setup
	$(E2E)

# Backend: the PostgreSQL server its tests start (tests/backend/pg.sh); installed here on a fresh machine.
test-services:
	@bash tests/backend/pg.sh install || echo "PostgreSQL unavailable: its backend tests will be skipped"

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache frontend/node_modules frontend/dist
