# Every target creates what it needs: `make test` and `make demo` work on a fresh clone.
# Two virtualenvs: .venv runs openai 3.x (httpx2), .venv-openai2 runs openai 2.x (httpx).

PYTHON ?= python3
VENV := .venv
VENV2 := .venv-openai2
UV_VERSION := 0.13.8

.PHONY: test lint typecheck pytest pytest-openai2 demo bench reliability-report clean venv live-test \
	dist wheel-smoke reliability-sdk-async reliability-both-transports

venv: $(VENV)/.installed

# uv installs in seconds where pip takes minutes; it is itself a PyPI wheel.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(VENV)/bin/python -m uv pip install -q --compile-bytecode --python $(VENV)/bin/python -e ".[dev]" "openai>=3,<4"
	touch $@

$(VENV2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(VENV2)/bin/python -m uv pip install -q --compile-bytecode --python $(VENV2)/bin/python -e ".[dev]" "openai>=2,<3"
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check gw_core langchain_gw llamaindex_gw gw_emulator gw_cli gw_demo tests bench
	$(VENV)/bin/ruff format --check gw_core langchain_gw llamaindex_gw gw_emulator gw_cli gw_demo tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The notebooks run top to bottom on the emulator (nbmake), in each venv's own kernel.
pytest: $(VENV)/.installed
	@$(VENV)/bin/python -c "import openai; print('== pytest on openai', openai.__version__)"
	$(VENV)/bin/python -m pytest tests --nbmake notebooks

pytest-openai2: $(VENV2)/.installed
	@$(VENV2)/bin/python -c "import openai; print('== pytest on openai', openai.__version__)"
	$(VENV2)/bin/python -m pytest tests --nbmake notebooks

test: lint typecheck pytest pytest-openai2 reliability-sdk-async wheel-smoke

# Async paths run on aiohttp by default (gw_core/_async_http.py); the reliability suite runs
# once more on the SDK's own httpx client, the documented fallback (GW_ASYNC_HTTP=sdk).
reliability-sdk-async: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/reliability tests/core/test_async_http.py \
		tests/core/test_streaming.py -q --async-http=sdk

# Both async transports on both openai majors (the full check; `make test` runs a subset).
reliability-both-transports: $(VENV)/.installed $(VENV2)/.installed
	for py in $(VENV)/bin/python $(VENV2)/bin/python; do for t in aiohttp sdk; do \
		$$py -m pytest tests/reliability tests/core/test_async_http.py tests/core/test_transport.py \
			tests/core/test_streaming.py -q --async-http=$$t || exit 1; done; done

# The RAG demo: on the embedded emulator without GW_API_KEY, on the gateway with it.
demo: $(VENV)/.installed
	$(VENV)/bin/gw demo

clean:
	rm -rf $(VENV) $(VENV2) .mypy_cache .ruff_cache $(DIST)

# --- the wheel as users get it (issue 17) ---------------------------------------------------
# `make dist` builds the sdist, then the wheel from it, with the standard frontend in an
# isolated env (hatchling from PyPI through uv's cache), as `pip install <clone>` would.
# `make wheel-smoke` checks their contents, then installs the wheel into fresh venvs in a
# temp folder and uses it from there: the CLI, the demo, both adapters, the pytest plugin,
# each framework's extra alone, on openai 3.x and 2.x (tests/packaging/smoke.py).
DIST := dist

dist: $(VENV)/.installed
	rm -rf $(DIST)
	$(VENV)/bin/python -m build --installer uv --outdir $(DIST) .

wheel-smoke: dist
	TEST_DIST_DIR=$(DIST) $(VENV)/bin/python -m pytest tests/packaging -q
	$(VENV)/bin/python -m tests.packaging.smoke --dist $(DIST)

# --- benchmarks (issue 8) -----------------------------------------------------------------
# The peers' pins conflict, so each side gets its own venv beside our package:
#   .venv-bench          our package + langchain-openai on openai 3.x (+ matplotlib, py-spy)
#   .venv-bench-openai2  our package + llama-index-llms-openai-like, which pins openai < 3
# `make bench BENCH_ARGS=--quick` is a short trial run (figures not for the docs: it writes
# build/bench-quick/). The harness's own tests (tests/bench) run in `make test`.
BENCH_VENV := .venv-bench
BENCH_VENV2 := .venv-bench-openai2
BENCH_ARGS ?=

$(BENCH_VENV)/.installed: pyproject.toml
	rm -rf $(BENCH_VENV)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(BENCH_VENV)/bin/python -m uv pip install -q --python $(BENCH_VENV)/bin/python -e ".[langchain]" \
		"openai>=3,<4" "langchain-openai==1.7.4" "matplotlib==3.11.2" "py-spy==0.4.3"
	touch $@

$(BENCH_VENV2)/.installed: pyproject.toml
	rm -rf $(BENCH_VENV2)
	$(PYTHON) -m venv $(BENCH_VENV2)
	$(BENCH_VENV2)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(BENCH_VENV2)/bin/python -m uv pip install -q --python $(BENCH_VENV2)/bin/python -e ".[llamaindex]" \
		"openai>=2,<3" "llama-index-llms-openai-like==0.8.1"
	touch $@

bench: $(VENV)/.installed $(BENCH_VENV)/.installed $(BENCH_VENV2)/.installed
	$(BENCH_VENV)/bin/python bench/run.py --venv $(BENCH_VENV) --venv-openai2 $(BENCH_VENV2) \
		--project-venv $(VENV) $(BENCH_ARGS)

# --- reliability report (issue 7) -----------------------------------------------------------
# Runs tests/reliability in both venvs, each recording what every case observed (requests
# the emulator saw, waits, outcome) into JSON, then renders docs/reliability.md from both
# runs. A failing test stops the target: no report is written from a red run.
RELIABILITY_RESULTS := build/reliability

reliability-report: $(VENV)/.installed $(VENV2)/.installed
	@mkdir -p $(RELIABILITY_RESULTS)
	rm -f $(RELIABILITY_RESULTS)/openai3.json $(RELIABILITY_RESULTS)/openai2.json
	GW_RELIABILITY_RESULTS=$(RELIABILITY_RESULTS)/openai3.json $(VENV)/bin/python -m pytest tests/reliability -q
	GW_RELIABILITY_RESULTS=$(RELIABILITY_RESULTS)/openai2.json $(VENV2)/bin/python -m pytest tests/reliability -q
	$(VENV)/bin/python -m tests.reliability.report $(RELIABILITY_RESULTS)/openai3.json \
		$(RELIABILITY_RESULTS)/openai2.json --output docs/reliability.md

# --- live tests (issue 14) ------------------------------------------------------------------
# For maintainers before a release: a few dozen small requests to the real gateway (needs
# GW_API_KEY; GW_BASE_URL optional). Never part of `make test` or CI: tests/live is
# deselected unless GW_LIVE=1, and its tests enable sockets beyond loopback themselves.
# The doctor's reports land in build/live/ for review.
live-test: $(VENV)/.installed
	GW_LIVE=1 $(VENV)/bin/python -m pytest tests/live -m live -v -rs
