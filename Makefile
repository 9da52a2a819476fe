# Two commands work on a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: chat test lint eval practice bench bench-e2e clean

$(BIN)/loketbot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-extras: $(BIN)/loketbot
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

chat: $(BIN)/loketbot
	@$(BIN)/loketbot chat

lint: $(VENV)/.test-extras
	$(BIN)/ruff check loketbot tests benchmarks eval/tools
	$(BIN)/mypy --strict loketbot

test: lint
	$(BIN)/pytest -q

eval: $(BIN)/loketbot
	$(BIN)/loketbot eval eval/dev.jsonl

# Every practice set, metrics only; eval/README.md says which are still held out (run rarely).
practice: $(BIN)/loketbot
	@for f in eval/practice*.jsonl; do $(BIN)/loketbot eval $$f --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print(sys.argv[1], {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})' $$f; done

# Matching cost against bare rapidfuzz on the shipped knowledge, then load time, latency and
# memory on a generated 2,000-entry knowledge base; fails when a target is missed.
bench: $(BIN)/loketbot
	$(BIN)/python benchmarks/match_speed.py
	$(BIN)/python benchmarks/match_kb.py

# loketbot serve (SQLite, PostgreSQL) against a bare PTB echo bot, through a local Bot API
# emulator; PostgreSQL from LOKETBOT_TEST_DATABASE_URL (skipped if unreachable). ARGS=--help
bench-e2e: $(BIN)/loketbot
	$(BIN)/python benchmarks/e2e.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
