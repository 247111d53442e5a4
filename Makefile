# The README's two commands: `make demo` and `make test`. Each does its own set-up.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint check bench-ingest

setup:
	@bash scripts/setup.sh

demo: setup
	$(BIN)/digitalcity demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check digitalcity tests bench

check: setup
	$(BIN)/digitalcity check-layers

bench-ingest: setup
	$(BIN)/python -m bench.ingest
