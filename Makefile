# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint types install clean lock audit

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Lighthouse for the campaign page's scores (tests/test_lighthouse.py), pinned in
## tests/lighthouse/package-lock.json, with the machine's npm; without npm (or the npm
## registry) those tests are skipped and say why.
LIGHTHOUSE := tests/lighthouse/node_modules/.bin/lighthouse
$(LIGHTHOUSE): tests/lighthouse/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  (cd tests/lighthouse && npm ci --no-audit --no-fund --silent) \
	    || echo "npm ci failed in tests/lighthouse: the Lighthouse tests will be skipped"; \
	else echo "no npm: the Lighthouse tests will be skipped"; fi

## A working local campaign: SQLite, embedded Redis, local SMTP sink, web + worker.
run: $(STAMP)
	$(BIN)/advocacy run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

## The whole suite: lint, types, tests (real Redis, SQLite and PostgreSQL, SMTP sink).
test: lint types $(LIGHTHOUSE)
	$(BIN)/pytest

## The quick loop: every test not marked slow (those run crashes, chaos and `advocacy run`).
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

## requirements.lock: the production image's exact versions, with hashes, from pyproject's
## ranges (the runtime dependencies only). Run after changing them; commit the result.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
	  --output-file requirements.lock pyproject.toml

## Known vulnerabilities in this environment and in requirements.lock. Needs the network
## (advisories come from PyPI's JSON API), so it is not part of `make test`.
audit: $(STAMP)
	$(BIN)/pip-audit --skip-editable
	$(BIN)/pip-audit --require-hashes --disable-pip -r requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
