# Every target bootstraps .venv on a fresh machine (python3 -m venv + pip install -e '.[test]').
# `make help` lists the targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCAN_VENV := .venv-scan
CHECKOV_VERSION := 3.2.459
# cfn-guard 3.1.1 and the AWS Control Tower proactive-control rule files (237), as this npm package ships them.
SCAN_NODE := .scan-node
CFNGUARD_PACKAGE := @cdklabs/cdk-validator-cfnguard@0.0.62
CFNGUARD_STAMP := $(SCAN_NODE)/.installed-0.0.62

.DEFAULT_GOAL := help
.PHONY: help templates test test-fast lint scan bench demo fuzz clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

templates: $(STAMP) ## compile the default config into build/ and lint it (nothing written unless clean)
	$(BIN)/enrollcfn build

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## the quick lane: everything but the slow tests (local AWS deploys, the local Fargate, whole-build lints)
	$(BIN)/python -m pytest -n auto -m "not slow and not fargate"

lint: $(STAMP) ## cfn-lint every template in build/ in one process
	$(BIN)/enrollcfn lint build

$(CFNGUARD_STAMP):
	rm -rf $(SCAN_NODE)
	npm install --prefix $(SCAN_NODE) --no-save --no-package-lock --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error $(CFNGUARD_PACKAGE)
	@touch $@

scan: $(STAMP) $(CFNGUARD_STAMP) ## checkov over all of build/ (own venv); the Control Tower controls (cfn-guard) over build/ and a compliance: control-tower build
	@test -x $(SCAN_VENV)/bin/checkov || { $(PYTHON) -m venv $(SCAN_VENV) && $(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION); }
	$(SCAN_VENV)/bin/checkov --directory build --framework cloudformation --compact --quiet --skip-download
	$(BIN)/python tests/guard.py --exceptions guard-exceptions.txt build
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && $(BIN)/enrollcfn build --config config/control-tower.yaml --out "$$out" >/dev/null && $(BIN)/python tests/guard.py "$$out"

bench: $(STAMP) ## enrollcfn build (cold, warm, one stack changed; all cores, one core), 3 envs, no-op deploy, RSS vs the cfn-lint CLI
	$(BIN)/python tests/bench.py

demo: $(STAMP) ## deploy end to end against a local AWS (moto on 127.0.0.1): preview, progress, outputs, no-op plan; status, run, a property-level plan, rollback; dev.yaml side by side, then destroyed
	$(BIN)/python -m enrollcfn.local.demo

clean: ## remove the virtual environments
	rm -rf $(VENV) $(SCAN_VENV) $(SCAN_NODE)

fuzz: $(STAMP) ## property-based fuzzing of every input through the CLI, at size: 2,600 cases per test (over 10,000 in all), random
	ENROLLCFN_FUZZ_EXAMPLES=$${ENROLLCFN_FUZZ_EXAMPLES:-2600} $(BIN)/python -m pytest -q -m fuzz -p no:randomly tests/test_fuzz.py
