# 信访 petition assistant. The two everyday commands: `make run` and `make test`.
# Every target creates .venv/ first when it is missing (scripts/setup_venv.sh, instant when current).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Test directories that exist (git does not keep empty ones).
TEST_DIRS := $(wildcard tests/unit tests/integration tests/fuzz tests/conversations tests/e2e)
PYTEST_ARGS ?=

.PHONY: help venv env train run lint fix test test-unit bench bench-load clean

help:
	@echo "make run        set up .venv, .env and the model, then run rasa + actions + back-office"
	@echo "make test       lint, then all tests (unit, integration, fuzz, conversations, e2e)"
	@echo "make test-unit  unit tests only (fast, no services)"
	@echo "make lint       ruff + mypy"
	@echo "make fix        apply ruff's automatic fixes (import order, pyupgrade, ...)"
	@echo "make venv       create/update .venv (Python 3.10)"
	@echo "make env        write .env with fresh secrets if missing"
	@echo "make train      train the Rasa model unless models/<data-hash>.tar.gz exists"
	@echo "make bench      run the benchmarks (bench/)"
	@echo "make bench-load load benchmark, ours vs stock Rasa config (BENCH_LOAD_ARGS=--help for options)"
	@echo "make clean      remove caches, test output and trained models (keeps .venv, .env, var/)"

venv:
	@bash scripts/setup_venv.sh

env: venv
	@$(PY) scripts/gen_env.py

train: venv
	@$(PY) -m bot.training.model_cache

run:
	@bash scripts/run.sh

lint: venv
	$(VENV)/bin/ruff check bot actions tests
	$(VENV)/bin/mypy bot actions

fix: venv
	$(VENV)/bin/ruff check --fix bot actions tests

# Lint first; pre-train the model once (when the Rasa project files exist) so that no test
# pays the training time inside its timeout; then one pytest run over every test directory.
test: venv
	@$(MAKE) --no-print-directory lint
	@if [[ -f domain.yml && -f config.yml ]]; then $(MAKE) --no-print-directory train; \
	 else echo "[make test] domain.yml/config.yml missing: not pre-training"; fi
	$(PY) -m pytest $(TEST_DIRS) $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

bench: venv
	$(PY) -m bench.run

# Load benchmark (docs/performance.md): 50 simulated citizens against our stack and the stock Rasa
# configuration, alternating. The stock model trains on first use (long: see docs/performance.md).
BENCH_LOAD_ARGS ?=
bench-load: venv
	$(PY) -m bench.load $(BENCH_LOAD_ARGS)

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache results .rasa models/*.tar.gz models/*.train.json models/.tmp-*
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
