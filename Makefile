# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_POSTGRESQL_URL ?= postgresql+psycopg://127.0.0.1:5432/test
# pytest-xdist processes for the suite; 0 runs it in this process.
TEST_WORKERS ?= 2

.PHONY: run test test-postgresql bench bench-pages bench-large bench-large-postgresql setup test-setup database browser pdf-libs pdf-tools bench-certificates bench-statement

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

test-setup: $(VENV)/.test-installed browser pdf-libs pdf-tools

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

# WeasyPrint subsets the embedded font with HarfBuzz when libharfbuzz-subset is
# there; without it, it falls back to fontTools, which is slower.
pdf-libs:
	@test -e /usr/lib/$$(uname -m)-linux-gnu/libharfbuzz-subset.so.0 || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libharfbuzz-subset0; \
		else \
			echo "libharfbuzz-subset0 is missing: run 'sudo apt-get install libharfbuzz-subset0' first"; exit 1; \
		fi; }

# The certificate tests read PDFs back with poppler's pdftotext and pdffonts, and
# scan their QR codes with zbarimg.
pdf-tools:
	@command -v pdftotext >/dev/null && command -v pdffonts >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; \
		else \
			echo "pdftotext is missing: run 'sudo apt-get install poppler-utils' first"; exit 1; \
		fi; }
	@command -v zbarimg >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools; \
		else \
			echo "zbarimg is missing: run 'sudo apt-get install zbar-tools' first"; exit 1; \
		fi; }

# The benchmark compares the shipped font with Debian's system Noto CJK font.
bench-certificates: setup pdf-libs
	@fc-list ':family=Noto Sans CJK SC' | grep -q . || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; \
		else \
			echo "Noto Sans CJK SC is missing: run 'sudo apt-get install fonts-noto-cjk' first"; exit 1; \
		fi; }
	$(BIN)/python benchmarks/bench_certificates.py

# The large unit's interest statement, printed as a print job and read back with
# pdftotext; EMPLOYEES=500 makes a quick run.
EMPLOYEES ?= 20000
bench-statement: setup pdf-libs pdf-tools
	$(BIN)/python benchmarks/long_statement.py --employees $(EMPLOYEES)

database: setup
	$(BIN)/hall db upgrade
	$(BIN)/hall demo seed

run: database pdf-libs
	$(BIN)/hall serve --host $(HOST) --port $(PORT)

test: test-setup database
	$(BIN)/hall specs check
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)


# The same suite on a PostgreSQL server; each test gets a database of its own there.
test-postgresql: test-setup
	HALL_TEST_DATABASE_URL=$(TEST_POSTGRESQL_URL) $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

# Speed and memory benchmarks; they print figures against their targets and stay
# out of `make test`.
bench: setup bench-certificates bench-statement bench-pages bench-large bench-large-postgresql
	$(BIN)/python benchmarks/specs_load.py
	$(BIN)/python benchmarks/worker_memory.py
	$(BIN)/python benchmarks/base_change_import.py

# The page benchmark loads the engine's page and a hand-written one with Debian's wrk,
# a compiled HTTP load generator, so that the load does not starve the two servers.
bench-pages: setup
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
		else \
			echo "wrk is missing: run 'sudo apt-get install wrk' first"; exit 1; \
		fi; }
	$(BIN)/python benchmarks/page_throughput.py

# The unit of 20,000 employees and 2,000,000 ledger entries, seeded into a temporary
# SQLite file, then into a PostgreSQL database that the target creates afresh.
BENCH_POSTGRESQL_DATABASE ?= hall_bench
bench-large: setup
	$(BIN)/python benchmarks/large_data.py

bench-large-postgresql: setup
	psql -h 127.0.0.1 -d test -q -c 'DROP DATABASE IF EXISTS $(BENCH_POSTGRESQL_DATABASE)' \
		-c 'CREATE DATABASE $(BENCH_POSTGRESQL_DATABASE)'
	$(BIN)/python benchmarks/large_data.py \
		--database-url postgresql+psycopg://127.0.0.1:5432/$(BENCH_POSTGRESQL_DATABASE)
	psql -h 127.0.0.1 -d test -q -c 'DROP DATABASE IF EXISTS $(BENCH_POSTGRESQL_DATABASE)'
