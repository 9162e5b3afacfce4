# The two commands the README opens with: `make test` and `make demo`.
# Both create the virtualenv on first use, so they work on a fresh clone.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: install test lint demo sandbox bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# pytest exits 5 when it collects nothing: that fails here too, as it should.
test: install
	$(BIN)/pytest

# lint-imports checks the layers (pyproject.toml [tool.importlinter]); xenon fails on any
# product function above cyclomatic complexity 20 (radon rank C); the sandbox is exempt.
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/xenon --max-absolute C --exclude 'src/leadbridge/sandbox/*' src/leadbridge

# Three weeks of a funnel on the simulated CRMs and a SQLite state file, bridged;
# no credentials. `leadbridge explain EMAIL` then tells any lead's story.
demo: install
	$(BIN)/leadbridge demo

sandbox: install
	$(BIN)/leadbridge sandbox

bench: install
	$(BIN)/python benchmarks/sandbox.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
