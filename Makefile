# kmeans-tutor developer tasks.  `make test` is the command CI runs (via .ci/run).
#
#   make serve                serve the lessons (SERVE_ARGS='--lesson 4' for options)
#   make test                 whole suite (set PYTEST_ARGS or ARGS for extra pytest args)
#   make test-fast            skip tests marked slow or browser
#   make bench                run the benchmarks
#   make screenshots          retake docs/*.png (course page and every lesson, 1280x720)
#   make hub                  JupyterHub with the lessons on 127.0.0.1:8000 (try-out; prints the login)
#   make clean                remove build artefacts and caches (keeps .venv)
#   make distclean            clean, and remove .venv too
#
# PYTHON is only used to create .venv; everything else runs inside .venv.

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python

PYTEST_ARGS ?=
ARGS        ?=

# Set by .ci/run: a file that receives pytest's exit code, so CI can tell
# "no tests collected" (pytest exit 5) apart from other failures.
PYTEST_RC_FILE ?=

.DEFAULT_GOAL := help
.PHONY: help venv browser serve hub test test-fast bench screenshots clean distclean check-python

# Extra arguments for `kmeans-tutor serve`, e.g. make serve SERVE_ARGS='--lesson 4 --port 8870'
SERVE_ARGS ?=

help:
	@echo "make serve       serve the lessons in the browser (creates .venv if needed)"
	@echo "make test        run the whole test suite (PYTEST_ARGS='...' for extra args)"
	@echo "make test-fast   skip tests marked slow or browser"
	@echo "make bench       run the benchmarks"
	@echo "make screenshots retake the pictures in docs/ (needs chromium)"
	@echo "make hub         JupyterHub with the lessons on 127.0.0.1:8000 (try-out, prints the login)"
	@echo "make clean       remove build artefacts and caches"
	@echo "make distclean   clean, and remove $(VENV)"

check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found; install Python 3.10+ or run 'make PYTHON=/path/to/python3.x'" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
	  echo "error: kmeans-tutor needs Python >= 3.10, but '$(PYTHON)' is $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo 'not runnable')." >&2; \
	  echo "       Run e.g. 'make PYTHON=python3.11 test'." >&2; \
	  exit 1; }

# Create the virtualenv once.  A failed `python -m venv` (on Debian: the
# python3-venv package is missing) leaves a half-made directory behind, so
# remove it rather than let the next run think the venv exists.
$(VPY):
	@$(MAKE) --no-print-directory check-python PYTHON='$(PYTHON)'
	@echo "Creating $(VENV) with $$($(PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])')"
	@$(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed. On Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  exit 1; }

# (Re)install the project whenever pyproject.toml changes, then compile the bytecode the
# lesson kernels run on (python -OO; `kmeans-tutor serve` checks it again at each start)
# and the compiled assign step of large runs (Numba; otherwise the first large run does).
$(VENV)/.installed: pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install -e '.[dev]'
	-$(VPY) -m kmeans_tutor.server.bytecode
	-$(VPY) -m kmeans_tutor.core.compiled
	@touch $@

venv: $(VENV)/.installed

# The lessons, served by Voilà on http://127.0.0.1:8866/ (Ctrl+C stops the server).
serve: venv
	$(VENV)/bin/kmeans-tutor serve $(SERVE_ARGS)

# JupyterHub for larger classes (deploy/jupyterhub): installs the `hub` extra and
# configurable-http-proxy (npm, under .venv/hub/node), then starts it on 127.0.0.1:8000 with a
# throw-away password it prints (KMEANS_TUTOR_HUB_PORT=... for another port).
hub: venv
	@PYTHON=$(VPY) bash deploy/jupyterhub/install.sh
	@PYTHON=$(VPY) bash deploy/jupyterhub/start.sh

# The browser tests need Debian's chromium. Install it when we can (root with
# apt-get); otherwise say that only the browser tests will be skipped.
browser:
	@if [ -x "$${KMEANS_TUTOR_CHROMIUM:-/usr/bin/chromium}" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests (apt-get)..."; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; } >/dev/null 2>&1 \
	    && echo "chromium installed." \
	    || echo "Could not install chromium: the browser tests (pytest -m browser) will be skipped."; \
	else \
	  echo "No chromium at $${KMEANS_TUTOR_CHROMIUM:-/usr/bin/chromium}: the browser tests (pytest -m browser) will be skipped."; \
	  echo "Install Debian's 'chromium' package (or set KMEANS_TUTOR_CHROMIUM) to run them."; \
	fi

# pytest's exit code is recorded in PYTEST_RC_FILE when that is set (see .ci/run).
test: venv browser
	@rc=0; $(VPY) -m pytest $(PYTEST_ARGS) $(ARGS) || rc=$$?; \
	if [ -n "$(PYTEST_RC_FILE)" ]; then echo $$rc > "$(PYTEST_RC_FILE)"; fi; \
	exit $$rc

test-fast: venv
	$(VPY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS) $(ARGS)

# benchmarks/run_all.py if present, otherwise every benchmarks/bench_*.py in name order.
bench: venv
	@if [ -f benchmarks/run_all.py ]; then \
	  echo "$(VPY) benchmarks/run_all.py"; \
	  $(VPY) benchmarks/run_all.py; \
	else \
	  set -e; found=0; \
	  for f in $$(ls benchmarks/bench_*.py 2>/dev/null | LC_ALL=C sort); do \
	    found=1; echo "== $$f"; $(VPY) "$$f"; \
	  done; \
	  if [ $$found -eq 0 ]; then echo "No benchmarks found (benchmarks/run_all.py or benchmarks/bench_*.py)."; fi; \
	fi

screenshots: venv browser
	$(VPY) docs/screenshots.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis benchmarks/results
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
