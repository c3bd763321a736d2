# seqlab: `make demo` runs the main job, `make test` the whole test suite.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNS   ?= runs/zoo_quick
JOBS   ?= 2

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	# recurrentgemma (Hawk's reference in tests/models/test_hawk.py) pins numpy<2.4; its
	# import-time dependencies are in the dev extra, the package itself goes in without them
	$(BIN)/pip install -q --no-deps recurrentgemma==1.0.1
	touch $@ $(VENV)/.installed

# The main job: every zoo model on copy and adding, 2 seeds each, resumable (run it again to
# finish an interrupted demo); it ends with the results table and the dashboard's path.
demo: $(VENV)/.installed
	$(BIN)/seqlab sweep experiments/zoo_quick.py --workdir $(RUNS) --jobs $(JOBS)
	@echo "Run records: $(RUNS)/<run>/ (config.json, metrics.jsonl, summary.json); live dashboard: $(BIN)/seqlab dashboard $(RUNS)"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=15

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/seqlab bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
