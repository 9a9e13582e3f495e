# Every target calls the `hardtech` CLI or pytest; the work lives in hardtech/ and tests/.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

.PHONY: install up down status demo lint test test-unit bench asyncapi lag

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: Python 3.11 is required"; exit 1; }
	@echo "installing Python dependencies into $(VENV) (pinned by requirements.lock)…"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

up: install
	$(BIN)/hardtech up

down: install
	$(BIN)/hardtech down

status: install
	$(BIN)/hardtech status

demo: install
	$(BIN)/hardtech demo

lag: install
	$(BIN)/hardtech lag

# The type and lint gate (configured in pyproject.toml): the tests run only when it passes.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The tests start Kafka and FerretDB themselves when nothing else provides them.
test: install lint
	$(BIN)/hardtech install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: install
	$(BIN)/hardtech up --infra-only
	$(BIN)/python -m bench

asyncapi: install
	$(BIN)/hardtech asyncapi
