# Everything a fresh clone needs: `make demo` and `make test` each work as the first command.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
# The real Claude Code CLI for the end-to-end tests, installed locally (never globally), offline-capable.
CLAUDE_VERSION := 2.1.332
NPM_PREFIX     := .cache/npm
CLAUDE_BIN     := $(NPM_PREFIX)/node_modules/.bin/claude

.PHONY: install run demo test test-fast lint bench screenshots snapshot-update claude-cli clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/optscale-tui

demo: $(STAMP)
	$(VENV)/bin/optscale-tui --demo

$(CLAUDE_BIN):
	@mkdir -p $(NPM_PREFIX)
	npm install --silent --no-audit --no-fund --prefix $(NPM_PREFIX) @anthropic-ai/claude-code@$(CLAUDE_VERSION) \
		|| echo "warning: could not install the Claude Code CLI; tests that need it will be skipped locally"

claude-cli: $(CLAUDE_BIN)

test: $(STAMP) claude-cli lint
	OPTSCALE_TUI_CLAUDE_BIN=$(abspath $(CLAUDE_BIN)) $(PY) -m pytest -q -p no:cacheprovider

test-fast: $(STAMP)
	$(PY) -m pytest -q -x -p no:cacheprovider -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check optscale_tui tests benchmarks $(wildcard scripts)
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) benchmarks/run.py

snapshot-update: $(STAMP)
	$(PY) -m pytest -q tests/ui --snapshot-update

screenshots: $(STAMP)
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .cache build *.egg-info .pytest_cache .ruff_cache
