# The README's two commands: `make demo` and `make test`. Each does its own set-up.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint check bench bench-ingest bench-tiles bench-api bench-analysis bench-deps bench-clients bench-cql2 bench-scale bench-edits bench-feed bench-quality bench-raster bench-search

setup:
	@bash scripts/setup.sh

demo: setup
	$(BIN)/digitalcity demo

# Lint and types first (seconds), then the suite; pytest's exit 5 (no test ran) fails too.
test: setup
	$(BIN)/ruff check digitalcity tests bench
	$(BIN)/mypy digitalcity
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check digitalcity tests bench

check: setup
	$(BIN)/digitalcity check-layers

# every bench that runs on both datasets (Cambridge and the SYNTHETIC OSM-like set)
bench: bench-ingest bench-tiles bench-api bench-clients bench-cql2 bench-analysis bench-edits bench-feed bench-quality bench-search

bench-ingest: setup
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.ingest.readers

# tipg (the peer server of the tiles and api benches) is the optional extra "bench".
bench-deps: setup
	@$(BIN)/python -c "import tipg" 2>/dev/null || $(BIN)/pip install -q -e ".[bench]"

bench-tiles: setup bench-deps
	$(BIN)/python -m bench.tiles
	$(BIN)/python -m bench.tiles.sizes cambridge xiamen
	$(BIN)/python -m bench.tiles.labels
	$(BIN)/python -m bench.tiles.firstview
	$(BIN)/python -m bench.tiles.copies

bench-api: setup bench-deps
	$(BIN)/python -m bench.api

bench-clients: setup bench-deps
	$(BIN)/python -m bench.api.clients

bench-cql2: setup bench-deps
	$(BIN)/python -m bench.cql2

bench-analysis: setup
	$(BIN)/python -m bench.analysis

bench-scale: setup
	$(BIN)/python -m bench.scale --scales 1,10,100,305 --standbys

bench-edits: setup
	$(BIN)/python -m bench.edits

bench-feed: setup
	$(BIN)/python -m bench.feed

bench-quality: setup
	$(BIN)/python -m bench.quality

bench-raster: setup
	$(BIN)/python -m bench.raster

bench-search: setup
	$(BIN)/python -m bench.search
