# Set-up is part of every target: a local virtual environment in .venv, made once.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: setup main test grid bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $@

setup: $(VENV)/.installed

## main: the main job
main: setup
	$(PY) -m artrm grid --profile cpu --workers 2

## bench: the speed benchmark (bench/NOTES.md); results in bench/results
bench: setup
	$(PY) bench/bench.py

## test: the whole test suite
test: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) book/_build
