# Two entry points, each doing the whole set-up on a fresh machine:
#   make app    installs the package and opens the Streamlit demonstrator
#   make test   installs the package with its test tools and runs ruff and the whole test suite
#
# torch is pinned to the CPU wheel (2.13.0) so pip never pulls a multi-GB CUDA build.
# GPU users: `make app TORCH=torch` (or pip install the CUDA wheel of their choice first).
PYTHON ?= python3
TORCH ?= torch==2.13.0
PIP := $(PYTHON) -m pip

.PHONY: install install-dev app test lint

install:
	$(PIP) install "$(TORCH)" -e .

install-dev:
	$(PIP) install "$(TORCH)" -e ".[dev]"

app: install
	$(PYTHON) -m streamlit run app.py

lint:
	$(PYTHON) -m ruff check .

test: install-dev lint
	$(PYTHON) -m pytest
