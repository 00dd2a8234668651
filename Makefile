# The README's two commands: `make run` (demo site) and `make test` (whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app matching
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install install-test translations migrate seed serve lint e2e clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"

translations:
	@# Each catalogue's statistics (vi and ja) and any problem; a failed compile still fails.
	@out=$$($(BIN)/pybabel compile -d translations --statistics 2>&1); status=$$?; \
		printf '%s\n' "$$out" | grep -v '^compiling catalog'; exit $$status

migrate:
	$(FLASK) db upgrade

# The demo's employers have past decisions: train a first model unless one exists already.
seed:
	$(FLASK) demo seed
	@if $(FLASK) model show | grep -q "no model trained yet"; then $(FLASK) model train; fi

# A local secret key, made once, so sessions and candidate codes survive a restart.
instance/config.py:
	@mkdir -p instance
	@$(BIN)/python -c "import secrets; print('# Made by make run: keep it secret, keep it out of git.'); print('SECRET_KEY = ' + repr(secrets.token_hex(32)))" > $@

serve:
	@echo "Open http://$(HOST):$(PORT) and log in as admin@demo.example, nghe-an@demo.example,"
	@echo "sakura@demo.example, hoasen@demo.example or worker@demo.example (a worker's own page;"
	@echo "every demo password: demo-password)."
	SESSION_COOKIE_SECURE=0 REMEMBER_COOKIE_SECURE=0 $(FLASK) run --host $(HOST) --port $(PORT)

# Plain HTTP on 127.0.0.1, so the Secure cookie flag is switched off for this local run only.
run: install translations instance/config.py migrate seed serve

test: install-test translations
	$(BIN)/pytest $(PYTEST_ARGS)

e2e: install-test translations
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check matching tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
