# The two commands of the README:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DB     ?= calltrace.db
SAMPLE  = src/calltrace/data/sample.pcap

.PHONY: demo sample test lint fuzz bench clean

$(BIN)/calltrace: pyproject.toml setup.py src/calltrace/decode/_sipfast.c src/calltrace/decode/_bulkfast.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/calltrace
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

## demo: analyze the bundled sample capture into a SQLite file and print the call table
demo: $(BIN)/calltrace
	$(BIN)/calltrace analyze $(SAMPLE) --db $(DB)

## sample: regenerate the bundled sample and its truth (commit both after a generator change)
sample: $(BIN)/calltrace
	$(BIN)/python -m calltrace.sim.sample

## lint: ruff and mypy
lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## test: lint, then the whole test suite
test: lint
	$(BIN)/pytest -n 2 -q

## fuzz: the long fuzz campaign over every decoder; N inputs per decoder (default 1M)
fuzz: $(VENV)/.dev
	$(BIN)/python bench/fuzz_capture.py --inputs $${N:-1000000}
	$(BIN)/python bench/fuzz_sip.py --n $${N:-1000000}
	$(BIN)/python bench/fuzz_media.py --n $${N:-1000000}

## bench: the speed figures of docs/performance.md (needs tshark)
bench: $(VENV)/.dev
	$(BIN)/python bench/bench_analyze.py

clean:
	rm -rf $(VENV) $(DB) $(DB)-wal $(DB)-shm .pytest_cache .mypy_cache .ruff_cache
