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

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Until the sync loop lands (issue 5) the demo is the sandbox itself:
# the simulated HubSpot, Salesforce and Slack with 200 preloaded leads.
demo: install
	$(BIN)/leadbridge sandbox --leads 200 --seed 1

sandbox: install
	$(BIN)/leadbridge sandbox

bench: install
	$(BIN)/python benchmarks/sandbox.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
