# Two commands on a fresh machine: `make run` and `make test`.
# The interpreter: the distribution's Python 3.11 when it can make a virtualenv, else the first
# python3.11 on the PATH (`make PYTHON=...` chooses another). Debian's is built with profile-guided
# and link-time optimisation and links the interpreter into its executable; a source build made
# without them (pyenv's default, a shared libpython) spent 15 % more CPU on the same tests
# (docs/testing.md).
PYTHON ?= $(shell /usr/bin/python3.11 -c 'import ensurepip' >/dev/null 2>&1 && echo /usr/bin/python3.11 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test install install-dev migrate seed serve lint bench bench-outside bench-history clean translations screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

## make run: install, migrate, seed the demo garage if empty, serve on http://127.0.0.1:5000
##           with SQLite in instance/ and the tide scheduler in the same process.
run: seed
	SCHEDULER_ENABLED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload

## make test: install the dev dependencies and run the whole suite (and PostgreSQL too when
##            TEST_DATABASE_URL is set; .ci/run sets it).
# Bytecode is written even where the shell says not to (PYTHONDONTWRITEBYTECODE): each of the
# workers would otherwise compile the project and the test libraries again (about 3 s of CPU each).
test: install-dev
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 4 --dist worksteal

## make lint: ruff (lint and format), the import contracts (layers, no circles) and mypy.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

## make translations: extract messages, update the zh catalog, compile it (edit the .po in between).
translations: install-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o parking/translations/messages.pot \
		--no-location --sort-output --project tidal-parking .
	$(BIN)/pybabel update -i parking/translations/messages.pot -d parking/translations -l zh \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d parking/translations -l zh --statistics

## make screenshots: every page at phone and desktop size, in zh and en, into docs/screenshots/
##                   (needs Debian's chromium and fonts-noto-cjk); the browser tests that take
##                   screenshots (gate answers, the household pages) write theirs there too.
screenshots: install-dev
	$(BIN)/python -m tests.browser.screenshots
	WRITE_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_gate_page.py tests/browser/test_household_pages.py

bench: install-dev
	$(BIN)/python -m bench.run_all

## make bench-outside: the hot paths under wrk, an independent load generator (apt-get install wrk).
bench-outside: install-dev
	$(BIN)/python -m bench.outside

## make bench-history: three years of nights at 1 and 100 garages (PostgreSQL, ~20 GB of disk).
bench-history: install-dev
	$(BIN)/python -m bench.history

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
