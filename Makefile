# Every target creates what it needs: `make test` and `make demo` work on a fresh clone.
# Two virtualenvs: .venv runs openai 3.x (httpx2), .venv-openai2 runs openai 2.x (httpx).

PYTHON ?= python3
VENV := .venv
VENV2 := .venv-openai2
UV_VERSION := 0.13.8

.PHONY: test lint typecheck pytest pytest-openai2 demo bench reliability-report clean venv

venv: $(VENV)/.installed

# uv installs in seconds where pip takes minutes; it is itself a PyPI wheel.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(VENV)/bin/python -m uv pip install -q --python $(VENV)/bin/python -e ".[dev]" "openai>=3,<4"
	touch $@

$(VENV2)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/python -m pip install -q "uv==$(UV_VERSION)"
	$(VENV2)/bin/python -m uv pip install -q --python $(VENV2)/bin/python -e ".[dev]" "openai>=2,<3"
	touch $@

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check gw_core langchain_gw llamaindex_gw tests bench
	$(VENV)/bin/ruff format --check gw_core langchain_gw llamaindex_gw tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed
	@$(VENV)/bin/python -c "import openai; print('== pytest on openai', openai.__version__)"
	$(VENV)/bin/python -m pytest

pytest-openai2: $(VENV2)/.installed
	@$(VENV2)/bin/python -c "import openai; print('== pytest on openai', openai.__version__)"
	$(VENV2)/bin/python -m pytest

test: lint typecheck pytest pytest-openai2

clean:
	rm -rf $(VENV) $(VENV2) .mypy_cache .ruff_cache
