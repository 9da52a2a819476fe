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
	$(BIN)/ruff check loketbot tests benchmarks
	$(BIN)/mypy --strict loketbot

test: lint
	$(BIN)/pytest -q

eval: $(BIN)/loketbot
	$(BIN)/loketbot eval eval/dev.jsonl

# The held-out practice sets: run rarely, never tune on them (eval/README.md).
practice: $(BIN)/loketbot
	@$(BIN)/loketbot eval eval/practice.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("practice", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'
	@$(BIN)/loketbot eval eval/practice-public.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("public  ", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'
	@$(BIN)/loketbot eval eval/practice-2.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("practice-2", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'
	@$(BIN)/loketbot eval eval/practice-public-2.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("public-2  ", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'
	@$(BIN)/loketbot eval eval/practice-3.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("practice-3", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'
	@$(BIN)/loketbot eval eval/practice-public-3.jsonl --json | $(BIN)/python -c 'import json,sys; r=json.load(sys.stdin); print("public-3  ", {k: r[k] for k in ("top1", "safe", "wrong", "handoff")})'

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
