# Set-up is part of every target: a local virtual environment in .venv, made once.
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
JB      := $(VENV)/bin/jupyter-book build book --builder html -W -n --keep-going
PROFILE ?= cpu
DEVICE  ?= cpu
TRAIN   ?= 0

.PHONY: setup main book html pdf chromium test grid bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $@

setup: $(VENV)/.installed

## main: the main job, the book
main: book

## book: execute notebooks/ with papermill into book/chapters/ (PROFILE, DEVICE) from the
## runs stored in data/ (a missing run is named; TRAIN=1 trains it instead, hours on a CPU),
## then build the HTML with warnings as errors
book: setup
	$(PY) -m artrm notebooks --profile $(PROFILE) --device $(DEVICE) \
	  $(if $(filter 1,$(TRAIN)),,--stored-only)
	$(JB)
	@echo "The book: $(CURDIR)/book/_build/html/index.html"

## html: render book/chapters/ again (after editing book/*.md; executes nothing)
html: setup
	$(JB)

## pdf: the whole book as one PDF (title page, contents with page numbers, outline, page
## numbers, links inside the PDF): the single-page HTML of book/chapters/ (executes nothing)
## printed by headless chromium, copied next to the HTML book (which links to it); prints its path
pdf: setup chromium
	$(PY) -m artrm.book.build.pdf

## grid: the whole training grid of the cpu profile (the runs the book reuses)
grid: setup
	$(PY) -m artrm grid --profile cpu --workers 2

## chromium: Debian's chromium (the PDF, the browser test) and poppler-utils (the PDF test)
## (apt-get as root; else says how)
chromium:
	@command -v chromium >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium poppler-utils >/dev/null; \
	  else \
	    echo "missing: run 'sudo apt-get install chromium poppler-utils' (make pdf and the tests need them)"; \
	  fi; }

## bench: the speed benchmark (bench/NOTES.md); results in bench/results
bench: setup
	$(PY) bench/bench.py

## test: the whole test suite (pytest over tests/ and nbval over notebooks/; see pyproject)
test: setup chromium
	$(PY) -m pytest

clean:
	rm -rf $(VENV) book/_build book/chapters
