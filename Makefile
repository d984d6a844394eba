# secnotify: `make run` starts the local stack, `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# python3.13 is the Lambda runtime; pyenv keeps it out of PATH unless selected, so look there too.
PY313_BIN := $(shell if python3.13 -V >/dev/null 2>&1; then dirname "$$(python3.13 -c 'import sys; print(sys.executable)')"; \
	elif command -v pyenv >/dev/null 2>&1; then v=$$(pyenv versions --bare | grep '^3\.13' | tail -n 1); \
	[ -n "$$v" ] && echo "$$(pyenv prefix $$v)/bin"; fi)
# The virtualenvs (and so the tests and `make run`) use the Lambda runtime's Python when there is
# one; Python 3.11 (or any python3 >= 3.11) only where 3.13 is absent.
PYTHON ?= $(if $(PY313_BIN),$(PY313_BIN)/python3.13,$(shell command -v python3.11 || command -v python3))
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := $(SAM_VENV)/bin/sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PYTHONPATH := layers:.

# Names the interpreter a virtualenv runs on.
VENV_PYTHON = $(shell $(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The `secnotify` command line (pyproject.toml) goes in editable, its dependencies from the pins.
$(BIN)/.installed: requirements/dev.txt pyproject.toml
	@echo "creating $(VENV) with $(PYTHON) (Python $(PY_VERSION))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	touch $@

.PHONY: venv
venv: $(BIN)/.installed  ## create .venv from the pinned requirements, with the secnotify command line
	@built="$(call VENV_PYTHON,$(VENV))"; \
	if [ -n "$$built" ] && [ "$$built" != "$(PY_VERSION)" ] && [ ! -L $(VENV) ]; then \
		echo "$(VENV) runs Python $$built, not $(PY_VERSION): rebuilding it with $(PYTHON)"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV) && \
		$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt && \
		$(BIN)/pip install -q --disable-pip-version-check --no-deps -e . && touch $(BIN)/.installed; \
	fi

.PHONY: lint
lint: venv  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: validate
validate: $(SAM_VENV)/.installed  ## sam validate --lint (cfn-lint) on template.yaml, cfn-lint on forwarding/template.yaml
	$(SAM) validate --lint --template template.yaml --region $(AWS_DEFAULT_REGION)
	$(SAM_VENV)/bin/cfn-lint --regions $(AWS_DEFAULT_REGION) -- forwarding/template.yaml

.PHONY: build
build: $(SAM_VENV)/.installed  ## sam build for python3.13 on arm64
	@test -n "$(PY313_BIN)" || { echo "sam build needs python3.13 on PATH"; exit 1; }
	PATH="$(PY313_BIN):$$PATH" $(SAM) build --template template.yaml
	@# Lambda's code directories are read-only: without bytecode in the package, every cold start
	@# compiles our modules again. Unchecked hashes: the package never changes once built.
	$(PY313_BIN)/python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build

# The published schemas the preset tests validate against (npm, test-only, pinned by the lock file).
PRESET_SCHEMAS := tests/presets/node_modules/.package-lock.json
$(PRESET_SCHEMAS): tests/presets/package.json tests/presets/package-lock.json
	cd tests/presets && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: preset-schemas
preset-schemas: $(PRESET_SCHEMAS)  ## npm ci of the schemas the preset tests check against (tests/presets)

.PHONY: pytest
pytest: venv $(PRESET_SCHEMAS)
	@echo "pytest on $$($(BIN)/python -c 'import platform, sys; print(sys.executable, "(Python " + platform.python_version() + ")")')"
	$(BIN)/pytest -q -n 2 --dist worksteal $(PYTEST_ARGS)

.PHONY: unit
unit: venv  ## the fast tests, no moto server: units, the dispatcher on in-memory ports, the ledger contract
	$(BIN)/pytest -q -n 2 tests/unit tests/contract -m "not moto" $(PYTEST_ARGS)

.PHONY: tools
tools:  # both virtualenvs, side by side: on a fresh clone most of their time is downloads
	$(MAKE) -j2 $(BIN)/.installed $(SAM_VENV)/.installed

.PHONY: test
test: tools  ## every check on python3.13 if present (else 3.11): ruff, mypy, sam validate --lint, pytest
	$(MAKE) lint validate pytest

# `make run API_PORT=3001` (or AWS_PORT, SINK_PORT) moves that service; a busy port is named.
API_PORT ?= 3000
AWS_PORT ?= 4566
SINK_PORT ?= 8080
DYNATRACE_FAKE ?=

.PHONY: run
run: venv  ## the whole stack locally: AWS endpoint :4566, API :3000, dispatcher, sink :8080 (AWS_PORT, API_PORT, SINK_PORT; DYNATRACE_FAKE=1 polls a local Dynatrace fake)
	API_PORT=$(API_PORT) AWS_PORT=$(AWS_PORT) SINK_PORT=$(SINK_PORT) DYNATRACE_FAKE=$(DYNATRACE_FAKE) $(BIN)/python -m local.run

.PHONY: send
send: venv  ## put an event on the local bus: make send EVENT=events/eventbridge/opened.json
	$(BIN)/python -m local.send $(EVENT)

.PHONY: sink
sink: venv  ## a webhook sink that prints what it receives, on :8080
	$(BIN)/python -m local.sink

.PHONY: bench
bench: venv  ## performance figures, as ratios measured side by side
	$(BIN)/python -m bench.run

.PHONY: fuzz
fuzz: venv  ## schemathesis against our own /openapi.json
	$(BIN)/pytest -q tests/fuzz $(PYTEST_ARGS)

.PHONY: clean
clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .local
