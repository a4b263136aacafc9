# make demo: set up everything, render the example letters (docx + PDF), say where they are.
# make test: set up everything, run lint, layer contracts and the whole test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SARABAN_DATA_DIR ?= $(CURDIR)/data

.PHONY: demo test setup system-deps lint bench templates clean web

demo: setup
	$(BIN)/saraban demo --out data/out/demo

# The register and chain tests run on SQLite and on PostgreSQL (Debian's, started by the script).
test: setup lint
	@sh scripts/install-browser.sh
	SARABAN_TEST_POSTGRES_URL="$$(sh scripts/test-postgres.sh)" $(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Serve the web face on the demo's data (make demo first): http://127.0.0.1:8000
web: setup
	$(BIN)/saraban web --demo

bench: setup
	$(BIN)/python benchmarks/render.py

setup: system-deps $(VENV)/.installed

system-deps:
	@sh scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	touch $@

# Rebuild the letter templates from scratch (overwrites any restyling of templates/letters/*.docx).
templates: setup
	$(BIN)/python scripts/build_templates.py

clean:
	rm -rf data/out data/libreoffice-profile-*
