# Two commands on a fresh machine: `make run` (the bot) and `make test` (the checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench console

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	SIMULATOR=$${SIMULATOR:-1} SCHEDULER_IN_PROCESS=$${SCHEDULER_IN_PROCESS:-1} $(PY) app.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

console: $(STAMP)
	$(PY) -m bot.console

bench: $(STAMP)
	$(PY) bench/webhook.py
