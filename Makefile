# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Everything else is a building block of those two or a maintenance task.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
# Two workers (the CI machine has 2 cores; most tests wait on processes); a test file
# stays on one worker so its module fixtures (servers) start once.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: help run test test-fast lint format lock bootstrap test-infra images lambda-zip bench manifests tour clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

bootstrap: ## install uv (if missing) and .venv from the committed hash-pinned pins
	@bash scripts/bootstrap.sh

run: bootstrap ## start the whole platform locally on embedded defaults (Ctrl-C stops it)
	@$(PY) -m tools.launcher

test: bootstrap test-infra ## every test (real Postgres, local AWS, uvicorn processes), promtool on the SLO rules, then every image built and smoke-run
	@set -a; source .cache/test-infra.env; set +a; \
	  $(PY) -m pytest $(PYTEST_ARGS)
	@$(PY) -m tools.slo_rules check
	@bash scripts/images.sh --smoke

test-fast: bootstrap ## tests that need no Docker engine (quick inner loop)
	@$(PY) -m pytest -m "not docker and not slow" $(PYTEST_ARGS)

test-infra: ## Docker engine + Postgres image for Testcontainers (installs what is missing)
	@bash scripts/test-infra.sh

images: ## build every service image (offline Debian base when no registry); prints sizes
	@bash scripts/images.sh

lint: bootstrap ## ruff (lint + format check), pyright, actionlint, zizmor
	@bash scripts/lint.sh

format: bootstrap ## apply ruff's formatting and safe fixes
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

lock: ## re-resolve and rewrite the hash-pinned exports in requirements/
	@bash scripts/lock.sh

lambda-zip: bootstrap ## the catalog Lambda artifact (services/catalog/dist/catalog.zip); prints its size
	@$(PY) -m tools.lambda_zip

manifests: bootstrap ## render every Kubernetes object to deploy/manifests/{dev,prod}/ (for kubectl users and review)
	@$(PY) -m infra.render_manifests

bench: bootstrap ## every benchmark; prints figures as ratios to a baseline of the same run
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

tour: ## drive a sample of every API through the gateway of a running `make run`
	@bash scripts/tour.sh

clean: ## remove local state (venv, caches, local data)
	rm -rf $(VENV) .cache .data .pytest_cache .ruff_cache
