# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_POSTGRESQL_URL ?= postgresql+psycopg://127.0.0.1:5432/test

.PHONY: run test test-postgresql bench setup test-setup database browser

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

test-setup: $(VENV)/.test-installed browser

$(VENV)/.test-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Debian's chromium drives the browser tests; Playwright cannot download its own here.
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "chromium is missing: run 'sudo apt-get install chromium' first"; exit 1; \
		fi; }

database: setup
	$(BIN)/hall db upgrade
	$(BIN)/hall demo seed

run: database
	$(BIN)/hall serve --host $(HOST) --port $(PORT)

test: test-setup database
	$(BIN)/hall specs check
	$(BIN)/python -m pytest -q -p no:cacheprovider


# The same suite on a PostgreSQL server; each test gets a database of its own there.
test-postgresql: test-setup
	HALL_TEST_DATABASE_URL=$(TEST_POSTGRESQL_URL) $(BIN)/python -m pytest -q -p no:cacheprovider

# Speed and memory benchmarks; they print figures against their targets and stay
# out of `make test`.
bench: setup
	$(BIN)/python benchmarks/specs_load.py
	$(BIN)/python benchmarks/worker_memory.py
