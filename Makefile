# MineTwin — `make run` and `make test` do all set-up on a fresh Debian machine.
# A second `make setup` only checks: the venv and node_modules are rebuilt when
# pyproject.toml / constraints.txt / package-lock.json change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VIEWER_STAMP := viewer_web/node_modules/.installed
VIEWER_BUILT := viewer_web/dist/index.html
VIEWER_SRC := $(wildcard viewer_web/src/*.* viewer_web/src/ui/*.js) viewer_web/build.mjs

.PHONY: setup system run test bench shots lock check-install lint-imports clean

setup: system $(VENV_STAMP) $(NODE_STAMP) $(VIEWER_BUILT)

system:
	@tools/setup-system.sh

$(VENV_STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@# Real well tops for the geology tests and benchmark: only a data file of this wheel is
	@# read (twin/geology/validation.py), none of its code, so not its dependencies either.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt \
	  loopstructural
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The browser viewer: its npm packages (three.js, msgpack, uPlot, esbuild), then the bundle
# the server serves at / (rebuilt when a source changes).
$(VIEWER_STAMP): viewer_web/package.json viewer_web/package-lock.json
	cd viewer_web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VIEWER_BUILT): $(VIEWER_STAMP) $(VIEWER_SRC)
	node viewer_web/build.mjs

run: setup
	$(VENV)/bin/minetwin serve

# Before the suite: could a new machine install and load what we pin? (seconds)
check-install: $(VENV_STAMP)
	@$(PY) tools/check_install.py

# The rooms' import directions of DESIGN.md ([tool.importlinter] in pyproject.toml).
lint-imports: $(VENV_STAMP)
	@out=$$($(VENV)/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; \
	  echo "lint-imports: $$(echo "$$out" | grep '^Contracts:')"

test: setup check-install lint-imports
	$(PY) -m pytest

# constraints.txt from the venv with every extra installed; registry pins only (tools/lock.py)
lock: $(VENV_STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,bench]'
	$(PY) tools/lock.py

bench: setup
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(PY) bench/bench_scene.py
	$(PY) bench/bench_sim.py
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_recording.py
	$(PY) bench/bench_streaming.py
	$(PY) bench/bench_e2e.py
	$(PY) bench/bench_scan.py
	$(PY) bench/bench_sweep.py
	$(PY) bench/bench_geology.py
	$(PY) bench/bench_uplink.py
	$(PY) bench/bench_viewer.py
	$(PY) bench/bench_viewer.py --loads 1 --query '&aa=0'

# Screens as the control room sees them (a drill on the demo mine, 1920×1080): shots/*.png
shots: setup
	$(PY) bench/shots.py --out shots

clean:
	rm -rf $(VENV) node_modules viewer_web/node_modules viewer_web/dist .pytest_cache .hypothesis test-artifacts shots
