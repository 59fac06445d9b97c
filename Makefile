# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

# Telemetry off for every tool the project runs.
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export GX_ANALYTICS_ENABLED := False
export PYTHONDONTWRITEBYTECODE := 1

BENCH_PRESETS ?= S M

.PHONY: run test test-unit test-all setup lock ui docs lint lint-sql bench clean

## make run: set up, write demo extracts if the landing zone is empty, process every extract date.
run: setup
	$(BIN)/python -m orchestration.cli run

## make test: set up, then run the tests (unit, dbt unit and data tests, Dagster end to end, browser).
test: setup
	$(BIN)/python -m pytest -m "not slow"

## make test-unit: the pure-Python tests only (no dbt build, no pipeline run), for a quick loop.
test-unit: setup
	$(BIN)/python -m pytest -m unit

## make test-all: also the slow ones (fault tests and incremental-vs-full runs: many pipeline runs).
test-all: setup
	$(BIN)/python -m pytest

# The Spark engine's packages (pyspark, dbt-spark) are an optional extra with their own lock:
# installed when CHW_ENGINE=spark (or WITH_SPARK=1, as CI does), never for a DuckDB user.
ifeq ($(CHW_ENGINE),spark)
WITH_SPARK := 1
endif
setup: $(VENV)/.installed $(if $(WITH_SPARK),$(VENV)/.installed-spark)

# A project-local environment from pinned versions (requirements.lock, no download addresses).
# --compile-bytecode: every run starts several Python processes (Dagster, three dbt invocations);
# without .pyc files each one compiles dbt and Dagster from source again (dbt's import 6.4 s -> 3.7 s).
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(VENV)/.installed-spark: requirements-spark.lock $(VENV)/.installed
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-spark.lock
	@touch $@

## make lock: recompile requirements.lock from requirements.in (no index URLs are written).
lock:
	$(BIN)/uv pip compile requirements.in --python-version 3.11 --no-header -o requirements.lock
	$(BIN)/uv pip compile requirements-spark.in --python-version 3.11 --no-header -o requirements-spark.lock

## make ui: the Dagster UI on 127.0.0.1:3000 (`make ui UI_PORT=3001`: another port), over the runs `make run` recorded.
UI_PORT ?= 3000
ui: setup
	$(BIN)/python -m orchestration.cli ui --port $(UI_PORT)

## make docs: dbt docs as one static HTML file (data/dbt_target/static_index.html).
docs: setup
	$(BIN)/python -m orchestration.cli docs

## make lint: ruff on the Python, sqlfluff on the dbt SQL (rules in .sqlfluff); fails on any finding.
lint: setup
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory lint-sql

# sqlfluff's dbt templater compiles every model, so the profile's paths must be set: a throwaway
# warehouse and target folder (no build needed: in an empty warehouse no model is incremental).
# Generic tests are macros, not compiled alone. tests/test_lint.py runs this target.
SQL_LINT_PATHS := dbt_project/models dbt_project/tests/singular
lint-sql:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CHW_WAREHOUSE=$$tmp/warehouse.duckdb CHW_RAW_DIR=$$tmp/raw CHW_AUDIT_DIR=$$tmp/audit \
	CHW_MODELS_DIR=$$tmp/models DBT_TARGET_PATH=$$tmp/target DBT_LOG_PATH=$$tmp/logs \
	$(BIN)/sqlfluff lint $(SQLFLUFF_ARGS) $(SQL_LINT_PATHS)

bench: setup
	for preset in $(BENCH_PRESETS); do $(BIN)/python bench/run.py --preset $$preset || exit 1; done
	$(BIN)/python bench/run.py --preset tiny --steps generate,pipeline,overhead
	$(BIN)/python bench/run.py --preset history --steps generate
	$(BIN)/python bench/incremental.py --preset history --histories 30,90,180,365 --volumes 1,3,7 --volume-history 90

clean:
	rm -rf data/warehouse.duckdb* data/raw data/audit data/models data/outbox data/serving data/dagster_home data/dbt_target data/dbt_logs data/transform_state data/.chw_owner.json dbt_project/target dbt_project/logs
