# Every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
PORT ?= 8000
# Worker processes of the demo; above 1 they share state through Redis or the database.
WEB_CONCURRENCY ?= 1
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest docs bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	WEB_CONCURRENCY=$(WEB_CONCURRENCY) $(BIN)/uvicorn app:app --app-dir examples/demo \
		--host 127.0.0.1 --port $(PORT) --workers $(WEB_CONCURRENCY)

lint: $(STAMP)
	$(BIN)/ruff check src tests examples scripts
	$(BIN)/ruff format --check src tests examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/crudauth

pytest: $(STAMP)
	bash scripts/run-tests.sh $(PYTEST_ARGS)

# --strict turns a broken link, a missing include or an unresolved reference into an error.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest

# BENCH_ARGS passes options to bench/run.py, e.g. BENCH_ARGS="--rounds 5 --seconds 8".
bench: $(STAMP)
	bash bench/install-tools.sh
	cd bench && ../$(BIN)/python run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var site .mypy_cache .ruff_cache
