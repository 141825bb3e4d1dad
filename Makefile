# Two entry points (see README): `make demo` and `make test`. Each creates .venv and installs what it needs.
# `make docs` builds the documentation site into site/ (mkdocs, strict: a broken link fails).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch first, pinned to the release whose CPU build lies on this project's machines; a looser spec
# (or another index) is fine elsewhere: `make TORCH_SPEC='torch>=2.1' test`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test docs lint install clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[testing]"
	# bioimageio.core (the zoo's model test, tests only) pins an older bioimageio.spec than the one we
	# need: install it without its pins (its other needs are in the testing extra)
	$(PY) -m pip install -q --no-deps bioimageio.core==0.11.0
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/napari-n2v demo --out demo_output --overwrite

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs/_ext
	$(VENV)/bin/ruff format --check src tests benchmarks docs/_ext
	$(VENV)/bin/mypy
	$(PY) -m benchmarks report --check
	$(PY) -m pytest

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks docs/_ext
	$(VENV)/bin/ruff format --check src tests benchmarks docs/_ext

clean:
	rm -rf $(VENV) demo_output site .pytest_cache .ruff_cache
