# scrip: two commands — `make run` starts everything, `make test` passes the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-external lint pytest bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## make run: embedded PostgreSQL under .scrip/, migrations, demo data, API on :8000
run: $(STAMP)
	$(BIN)/scrip up

## make test: lint, types, layer contract, then every test on real PostgreSQL
test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/python -m pytest

## the suites that touch storage, against SCRIP_TEST_DATABASE_URL (an external server)
test-external: $(STAMP)
	$(BIN)/python -m pytest tests/db tests/services tests/api tests/concurrency tests/till \
		tests/web tests/browser

## make bench: reference (pgbench) and API scenarios (wrk); see docs/benchmarks.md
bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench

## make soak: the till against the value model, long (SOAK_EXAMPLES, default 2000 examples)
SOAK_EXAMPLES ?= 2000
soak: $(STAMP)
	SCRIP_MODEL_EXAMPLES=$(SOAK_EXAMPLES) SCRIP_MODEL_STEPS=60 $(BIN)/python -m pytest \
		tests/model -q -s

clean:
	rm -rf $(VENV) .scrip
