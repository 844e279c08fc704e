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

.PHONY: run test install sysdeps clean-notebooks check-notebooks standins sample-data bench-cpu

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

# Debian packages the tests use: flite and espeak-ng (offline voices for the base-voice corpus tests).
# The browser test installs chromium itself (scripts/browser_test_deps.sh).
SYSDEPS := flite espeak-ng
sysdeps:
	@missing=""; for p in $(SYSDEPS); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Tests never reach the network; their work dir is thrown away and made anew each run.
test: install sysdeps
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
