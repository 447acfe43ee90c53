# iaptkit: two commands from a fresh clone.
#   make demo   create .venv, install, make a synthetic extract and run the main job
#   make test   install what the tests need and run ruff, mypy --strict and pytest
#   make lab    JupyterLab on notebooks/ with the demo extract (installs the [lab] extra)
# Both are idempotent: a second run skips installation (stamp files in .venv/).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip --disable-pip-version-check
DEMO   := demo

.PHONY: demo lab test lint typecheck pytest bench clean install install-test peers help

help:
	@echo "make demo   - install into .venv, make a synthetic extract, run the end-to-end job"
	@echo "make lab    - install the [lab] extra and open JupyterLab on notebooks/ with the demo extract"
	@echo "make test   - install test tools and run ruff, mypy --strict src, pytest"
	@echo "make bench  - run the benchmarks (slow; national-scale figures)"
	@echo "make clean  - remove .venv and generated demo outputs"

$(BIN)/activate:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "iaptkit needs Python >= 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-install: pyproject.toml | $(BIN)/activate
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.stamp-install-test: pyproject.toml $(VENV)/.stamp-install
	$(PIP) install -q -e ".[test,dev,spark]"
	touch $@

$(VENV)/.stamp-install-lab: pyproject.toml $(VENV)/.stamp-install
	$(PIP) install -q -e ".[lab]"
	touch $@

install: $(VENV)/.stamp-install
install-test: $(VENV)/.stamp-install-test

# The output checkers' own tools, each in its own virtual environment (ACRO pins pandas <= 2.3.3),
# so the tests drive the real programs: ACRO 1.0.2 (results.json) and the SACRO viewer 0.2.1.
ACRO_VENV  := .venv-acro
SACRO_VENV := .venv-sacro
$(ACRO_VENV)/.stamp:
	$(PYTHON) -m venv $(ACRO_VENV)
	$(ACRO_VENV)/bin/python -m pip install -q --disable-pip-version-check "acro==1.0.2"
	touch $@
$(SACRO_VENV)/.stamp:
	$(PYTHON) -m venv $(SACRO_VENV)
	$(SACRO_VENV)/bin/python -m pip install -q --disable-pip-version-check "sacroviewer==0.2.1"
	touch $@
peers: $(ACRO_VENV)/.stamp $(SACRO_VENV)/.stamp

demo: $(VENV)/.stamp-install
	$(PY) -m iaptkit.cli.demo --out $(DEMO)

# JupyterLab on the notebooks, reading the demo extract (run `make demo` first for demo/extract).
# jupyter refuses to run as root without --allow-root (containers, CI); LAB_ARGS=--no-browser etc.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: $(VENV)/.stamp-install-lab
	@test -d $(DEMO)/extract || $(PY) -m iaptkit.cli.demo --out $(DEMO)
	IAPTKIT_DEMO_EXTRACT=$(CURDIR)/$(DEMO)/extract $(BIN)/jupyter lab $(LAB_ARGS) notebooks/

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-test
	$(BIN)/mypy --strict src

NBVAL := $(CURDIR)/build/nbval

pytest: install-test peers
	$(BIN)/python -m nbstripout --verify notebooks/*.ipynb
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=25
	rm -rf $(NBVAL)
	$(BIN)/iaptkit synth $(NBVAL)/extract --pathways 1500 --providers 4 --with-nhs-fields
	IAPTKIT_DEMO_EXTRACT=$(NBVAL)/extract \
		$(BIN)/pytest -q -p no:cacheprovider -o addopts="" --nbval-lax notebooks/

test: lint typecheck pytest

bench: install-test
	$(PY) benchmarks/synth.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/measures.py
	$(PY) benchmarks/sdc.py

clean:
	rm -rf $(VENV) $(ACRO_VENV) $(SACRO_VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
