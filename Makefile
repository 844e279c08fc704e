# Speech Lab — the two commands a newcomer needs:
#   make run    install (first time), then execute every notebook in the quick profile on the sample data
#   make test   install (first time), then run the whole test suite, notebooks included (nbval)
# Both create .venv with Python 3.11 if it is missing. Override the interpreter with PYTHON=python3.x.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

# make run NOTEBOOKS="01 02" runs only those notebooks.
NOTEBOOKS ?=

.PHONY: run test install clean-notebooks check-notebooks standins sample-data bench-cpu

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "Installed into $(VENV)."

# The quick profile never needs the network, so it runs offline (no hub look-ups, no waiting);
# SPEECHLAB_PROFILE=full leaves the hub reachable.
run: install
	@if [ "$${SPEECHLAB_PROFILE:-quick}" = quick ]; then export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1; fi; \
	$(PY) scripts/run_series.py $(NOTEBOOKS)

# Tests never reach the network; their work dir is thrown away and made anew each run.
test: install
	rm -rf .test_work
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 SPEECHLAB_WORK=$(CURDIR)/.test_work SPEECHLAB_PROFILE=quick \
	  $(PY) -m pytest tests notebooks

clean-notebooks: install
	$(PY) scripts/clean_notebooks.py notebooks

check-notebooks: install
	$(PY) scripts/clean_notebooks.py --check notebooks

standins: install
	$(PY) -m helpers.standins

sample-data: install
	$(PY) scripts/make_sample_data.py
