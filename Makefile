# Arrears — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PORT ?= 8000

.PHONY: install fonts demo serve test test-fast lint types contracts audit-deps bench bench-import bench-eod bench-queue bench-activities bench-guard bench-comms db-start db-stop clean messages

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Letters are printed as PDF with a CJK font embedded (arrears/comms/letters.py): Debian's
# fonts-noto-cjk unless ARREARS_LETTER_FONT names another. Installed here when missing (as root).
FONT_CHECK := $(BIN)/python -c "import os; from arrears.comms.letters import letter_font; font = letter_font(os.environ.get('ARREARS_LETTER_FONT', '')); print('letter font:', font.family, font.path)"
fonts: install
	@$(FONT_CHECK) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null 2>&1 \
	      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-noto-cjk; }; \
	  else echo "Letters need a CJK font: sudo apt-get install fonts-noto-cjk (or set ARREARS_LETTER_FONT)"; exit 1; fi; \
	  $(FONT_CHECK); }

# Install, start the embedded PostgreSQL, migrate, load the demo book, print logins, serve.
demo: install fonts
	$(BIN)/arrears demo --port $(PORT)

serve: install
	$(BIN)/arrears serve --port $(PORT)

# Lint, types, import contracts, then every test (real PostgreSQL, real Chromium).
test: install fonts lint types contracts
	ARREARS_REQUIRE_BROWSER=1 $(BIN)/pytest -p no:cacheprovider

test-fast: install fonts
	$(BIN)/pytest -x -q -m "not browser"

lint: install
	$(BIN)/ruff check arrears bench
	$(BIN)/ruff format --check arrears bench

types: install
	$(BIN)/mypy arrears

contracts: install
	$(BIN)/lint-imports

# Known vulnerabilities in the installed packages (not the project itself), from PyPI's JSON API.
# Not part of `test`: it needs that service, and CI must not fail for network reasons.
audit-deps: install
	$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off

# The benchmarks (import, end of day, work queue, activities API, compliance guard, communications); each prints its figures. See bench/README.md.
bench: bench-import bench-eod bench-queue bench-activities bench-guard bench-comms

bench-import: install
	$(BIN)/python bench/import_bench.py $(BENCH_ARGS)

bench-eod: install
	$(BIN)/python bench/eod_bench.py $(EOD_BENCH_ARGS)

bench-queue: install
	$(BIN)/python bench/queue_bench.py $(QUEUE_BENCH_ARGS)

# Needs wrk (installed with apt-get when run as root and missing).
bench-activities: install
	$(BIN)/python bench/activities_bench.py $(ACTIVITIES_BENCH_ARGS)

# The guard on a case with 200 activities, 2000 stored decisions in-process: p50/p95/p99.
bench-guard: install
	$(BIN)/python bench/guard_bench.py $(GUARD_BENCH_ARGS)

# Cadence expansion over 1M accounts (≈60k messages), then the outbox sender over HTTP to the fake SMS provider.
bench-comms: install
	$(BIN)/python bench/comms_bench.py $(COMMS_BENCH_ARGS)

db-start: install
	$(BIN)/arrears db start

db-stop: install
	$(BIN)/arrears db stop

messages: install
	cd arrears && ../$(BIN)/python ../manage.py makemessages -l en && ../$(BIN)/python ../manage.py compilemessages

clean:
	-$(BIN)/arrears db stop
	rm -rf $(VENV) var bench-data
