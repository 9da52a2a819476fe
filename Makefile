# Two commands work on a fresh machine: `make chat` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: chat test lint eval bench clean

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
	$(BIN)/loketbot eval ../shared/eval/dev.jsonl

bench: $(BIN)/loketbot
	$(BIN)/python benchmarks/match_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
