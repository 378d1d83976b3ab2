# Two commands on a fresh machine: `make run` (the bot) and `make test` (the checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: run test test-fast lint bench console intents-thresholds

$(RUNTIME): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV)

# Development: TONGZHOU_ENV=development lets the app start without production secrets.
run: $(RUNTIME)
	TONGZHOU_ENV=development SIMULATOR=$${SIMULATOR:-1} SCHEDULER_IN_PROCESS=$${SCHEDULER_IN_PROCESS:-1} $(PY) app.py

lint: $(DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Everything, including the tests that start their own processes (Redis, gunicorn, the scheduler).
test: lint
	$(PY) -m pytest -q

# The same without the process-starting tests (marked `slow`): seconds, for the edit-test loop.
test-fast: lint
	$(PY) -m pytest -q -m "not slow"

console: $(RUNTIME)
	TONGZHOU_ENV=development $(PY) -m bot.console

# After editing the utterance bank: choose the clarifying thresholds again (~15 s; a test says when).
intents-thresholds: $(RUNTIME)
	$(PY) -m knowledge.intents --write-thresholds

bench: $(DEV)
	TONGZHOU_ENV=development $(PY) bench/webhook.py
