# The project's two commands: `make run` and `make test`. Each creates what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
AWSCLI_VENV := .venv-awscli
AWSCLI_VERSION := 1.45.11
PORT ?= 4566
DAGSTER_PORT ?= 3000

.PHONY: run test lint bench clean help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# checkov pins an old boto3, so it lives in a virtual environment of its own.
$(CHECKOV_VENV)/.installed:
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	@touch $@

# The aws CLI pins its own botocore; the tests drive Athena with it as a user would.
$(AWSCLI_VENV)/.installed:
	@test -x $(AWSCLI_VENV)/bin/python || $(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AWSCLI_VENV)/bin/python -m pip install --quiet 'awscli==$(AWSCLI_VERSION)'
	@touch $@

run: $(BIN)/.installed ## local AWS stack + Dagster UI with orders flowing (Ctrl-C stops both)
	$(BIN)/orders-pipeline run --port $(PORT) --dagster-port $(DAGSTER_PORT)

test: $(BIN)/.installed $(CHECKOV_VENV)/.installed $(AWSCLI_VENV)/.installed ## the whole test suite (installs what it needs)
	$(BIN)/python -m pytest

lint: $(BIN)/.installed ## ruff
	$(BIN)/ruff check orders_pipeline orders_pipeline_tests benchmarks

bench: $(BIN)/.installed ## run every benchmark and print its figures
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the local stack's kept state (saying what), the virtual environments and outputs
	@if [ -x $(BIN)/orders-pipeline ]; then $(BIN)/orders-pipeline local reset --yes; else rm -rf .local-stack; fi
	rm -rf $(VENV) $(CHECKOV_VENV) $(AWSCLI_VENV) .dagster_home .dashboards
