# Two entry points, each doing the whole set-up on a fresh machine:
#   make app    installs the package and opens the Streamlit demonstrator
#   make test   installs the package with its test tools and runs ruff and the whole test suite
#
# torch is pinned to the CPU wheel (2.13.0) so pip never pulls a multi-GB CUDA build.
# GPU users: `make app TORCH=torch` (or pip install the CUDA wheel of their choice first).
PYTHON ?= python3
TORCH ?= torch==2.13.0
PIP := $(PYTHON) -m pip

.PHONY: install install-dev system-deps app test lint

install:
	$(PIP) install "$(TORCH)" -e .

install-dev: system-deps
	$(PIP) install "$(TORCH)" -e ".[dev]"

# Debian packages the tests use: chromium for the real-browser test (Playwright drives the system
# browser; never `playwright install`), espeak-ng for synthetic speech samples. Skipped quietly
# where apt-get is missing or we are not root (those tests then skip with a reason).
system-deps:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		missing=""; \
		for pkg in chromium espeak-ng; do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	else echo "apt-get unavailable or not root: chromium/espeak-ng tests may skip"; fi

app: install
	$(PYTHON) -m streamlit run app.py

lint:
	$(PYTHON) -m ruff check .

test: install-dev lint
	$(PYTHON) -m pytest
