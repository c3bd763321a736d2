# seqlab: `make demo` runs the main job, `make test` the whole test suite.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNS   ?= runs/demo

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# Until the sweep runner lands: the LSTM on copy and adding at short lengths.
demo: $(VENV)/.installed
	$(BIN)/seqlab train --config configs/copy.py:fast --config.task.length=20 \
	  --config.train.steps=1500 --config.eval.every=250 --workdir $(RUNS)/copy_T20
	$(BIN)/seqlab train --config configs/adding.py:fast --config.task.length=50 \
	  --config.train.steps=1500 --config.eval.every=250 --workdir $(RUNS)/adding_T50
	@echo "Run records: $(RUNS)/copy_T20 and $(RUNS)/adding_T50 (config.json, metrics.jsonl, summary.json, checkpoints/)"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q --durations=15

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/lstm_train_step.py
	$(BIN)/python benchmarks/fused_steps.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
