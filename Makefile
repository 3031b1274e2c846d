# Both targets bootstrap .venv themselves (python3 -m venv + pip), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: demo test lint conformance agreement catalogue bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m immunetwin.demo --out demo-output

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -q

conformance: $(STAMP)
	$(BIN)/immunetwin check sbml-suite $(SHARED)/sbml-test-suite/cases --cases $(SHARED)/sbml-test-suite/core_cases.txt

agreement: $(STAMP)
	$(BIN)/pytest -q -m slow tests/engine/test_agreement.py

# the slow catalogue suites: every entry checked live, every OMEX export re-imported and run
catalogue: $(STAMP)
	$(BIN)/pytest -q -m slow tests/catalog tests/cli/test_models_cli.py tests/formats

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/compose.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
