# Two entry points for a fresh Debian 12 machine, as root: `make run` and `make test`.
# Both install what is missing (Debian packages, a virtualenv) and are quick the second time.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export WEBVIRT_DEV := 1
# Test processes: the suite waits on guests, servers and browsers as much as on the CPU.
TEST_WORKERS ?= 2

.PHONY: run test deps lint bench services tiny-linux messages catalogues

# Translation catalogues (locale/<lang>/LC_MESSAGES/*.po), compiled when they changed; the
# compiled .mo files are never committed.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

run: deps messages
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py bootstrap
	exec deploy/dev/run.sh

test: deps messages services tiny-linux
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	WEBVIRT_FAST_PASSWORD_HASHING=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup

deps: $(VENV)/.installed

messages: deps $(CATALOGUES)

locale/%.mo: locale/%.po
	msgfmt --check -o $@ $<

# After marking strings: bring the catalogues up to date, then translate what is new.
catalogues: deps
	$(PY) manage.py catalogues

# Debian packages first (libvirt-dev and gcc build libvirt-python), then the virtualenv.
$(VENV)/.installed: requirements.txt deploy/dev/install-packages.sh
	deploy/dev/install-packages.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# The tiny Linux guest that integration tests boot (tests/integration/tiny_linux/), built from
# Debian packages into data/tiny-linux/ when its inputs changed, else found there at once.
tiny-linux: deps
	$(PY) tests/integration/tiny_linux/build.py

services:
	deploy/dev/start-services.sh

lint: deps
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

bench: deps services
	$(PY) bench/inventory.py
	$(PY) bench/metrics.py
	$(PY) bench/push.py
	$(PY) bench/placement.py
	$(PY) bench/migration.py
	$(PY) bench/scale_out.py
