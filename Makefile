# Two entry points (see README): `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint imports typecheck pytest services bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m lib serve --port $${PORT:-3000}

services:
	bash scripts/install-services.sh

lint: $(STAMP)
	$(BIN)/ruff check lib api tests bench

# import-linter: the layers of lib/ (pyproject.toml, [tool.importlinter])
imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: services lint imports typecheck pytest

.venv-bench/bin/python: bench/requirements-gutentag.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet -r bench/requirements-gutentag.txt

bench: $(STAMP) .venv-bench/bin/python
	$(BIN)/python bench/bench_generator.py

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache data
