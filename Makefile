# failforward: `make run` to start the app, `make test` to run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
CHROMIUM := /usr/bin/chromium
# PostgreSQL and Redis for the scale-out run of the suite (skipped, and said so, when unreachable).
SCALE_PG ?= postgresql://postgres@127.0.0.1:5432/test
SCALE_REDIS ?= redis://127.0.0.1:6379/15

.PHONY: run worker test test-sqlite test-scale chromium bench bench-study bench-lessons bench-fanout bench-export lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: set up, migrate, create demo data the first time, and start the web server and a worker.
run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo --first-run
	@echo "failforward on http://127.0.0.1:5000 (Ctrl-C stops the web server and the worker)"
	@FAILFORWARD_SESSION_COOKIE_SECURE=false FAILFORWARD_REMEMBER_COOKIE_SECURE=false \
	  bash -c 'trap "kill -INT \$$worker 2>/dev/null; wait \$$worker" EXIT; \
	  $(BIN)/huey_consumer failforward.tasks.huey --workers 2 --flush-locks --quiet & worker=$$!; \
	  $(FLASK) run --host 127.0.0.1 --port 5000'

## worker: run only the task worker.
worker: $(VENV)/.installed
	$(BIN)/huey_consumer failforward.tasks.huey --workers 2 --flush-locks

## chromium: make sure the browser for the browser tests is installed.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium package for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing at $(CHROMIUM). Install it (Debian/Ubuntu: sudo apt-get install chromium) and run make test again." >&2; \
	    exit 1; \
	  fi; \
	fi
	@$(CHROMIUM) --version

## test: the whole suite on SQLite, then again on PostgreSQL + Redis when they are reachable, one
## pytest-xdist worker per core (PYTEST_WORKERS=1 for one process). The reliability tests (marked slow:
## real worker processes killed mid-run, a backup under 8 clients) run afterwards on their own: timing
## is part of what they check, and a test running beside them on the other core would skew it.
PYTEST_WORKERS ?= auto
SUITE := $(BIN)/pytest -n $(PYTEST_WORKERS) -m "not slow" && $(BIN)/pytest -m slow
test: test-sqlite test-scale

test-sqlite: $(VENV)/.installed-dev chromium
	@echo "== suite on SQLite =="
	$(SUITE)

test-scale: $(VENV)/.installed-dev chromium
	@url=$$($(BIN)/python tests/scale_database.py create "$(SCALE_PG)" "$(SCALE_REDIS)") || { \
	  echo "== PostgreSQL + Redis run skipped: $$url =="; exit 0; }; \
	echo "== suite on PostgreSQL + Redis ($$url) =="; \
	export DATABASE_URL="$$url" REDIS_URL="$(SCALE_REDIS)"; $(SUITE); status=$$?; \
	$(BIN)/python tests/scale_database.py drop "$$url"; exit $$status

## bench: load and scale measurements (prints ratios against a bare Flask route).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

## bench-study: starting a study session and answering an item with 20,000 items and 200,000 review logs.
bench-study: $(VENV)/.installed-dev
	$(BIN)/python -m bench.study

## bench-lessons: lessons search p95 with 5,000 lessons on SQLite, against a bare route (in process).
bench-lessons: $(VENV)/.installed-dev
	$(BIN)/python -m bench.lessons

## bench-export: "Download my data" for a year of practice and for a heavy study account, against a bare route.
bench-export: $(VENV)/.installed-dev
	$(BIN)/python -m bench.export

## bench-fanout: 10,000 weekly check-ins due in one minute, sent by a real worker (1, then 2 threads) to a local SMTP server.
bench-fanout: $(VENV)/.installed-dev
	$(BIN)/python -m bench.fanout

## lint: ruff, and the layering contract (import-linter, in pyproject.toml; tests/test_layers.py runs it in make test too).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
