# MineTwin — `make run` and `make test` do all set-up on a fresh Debian machine.
# A second `make setup` only checks: the venv and node_modules are rebuilt when
# pyproject.toml / constraints.txt / package-lock.json change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup system run test bench clean

setup: system $(VENV_STAMP) $(NODE_STAMP)

system:
	@tools/setup-system.sh

$(VENV_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: setup
	$(VENV)/bin/minetwin serve

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/bench_scene.py
	$(PY) bench/bench_sim.py
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_recording.py
	$(PY) bench/bench_streaming.py
	$(PY) bench/bench_e2e.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
