# KOL Studio: `make run` starts everything, `make test` runs the suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: run test setup install lint typecheck check bench lock clean help demo

help:
	@echo "make run   - set up (venv, deps, migrate, stocks, admin, beat entries) and start web, worker and beat"
	@echo "make demo  - load the demo world (six personas, demo prices, drafts, dry-run publications)"
	@echo "make test  - set up the virtualenv and run the whole test suite"
	@echo "make lint typecheck check bench lock clean"

$(STAMP): requirements/dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (Python 3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

setup: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_stocks
	$(PY) manage.py setup_periodic_tasks
	$(PY) manage.py ensure_admin

demo: setup
	$(PY) manage.py demo
	@echo "Demo loaded. make run, then open http://127.0.0.1:$${WEB_PORT:-8000}/admin/ (remove it: $(PY) manage.py demo --remove)"

run: setup
	@echo "No data yet? make demo loads a demo world; real prices: manage.py fetch_quotes or manage.py import_quotes FILE.csv"
	@echo "KOL Studio at http://127.0.0.1:$${WEB_PORT:-8000}/admin/ (Ctrl-C stops web, worker and beat)"
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) bench/review_queue.py

lock:
	uv pip compile pyproject.toml -o requirements/base.txt --python-version 3.11 -q
	uv pip compile pyproject.toml --group dev -o requirements/dev.txt --python-version 3.11 -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
