"""What failed in a run, one line each, for the CLI's "What failed" summary: the failed steps'
errors, a failed dbt step's errors node by node, and the rules a failed table check found broken."""

from __future__ import annotations

import re

import dagster as dg

from orchestration.lib.core.paths import Paths
from orchestration.lib.transform.broken_rules import broken_rules, describe

# What a step stopped by SIGINT (Ctrl-C in the terminal, dagster-dbt's cancel) left: dbt builds
# each model in a transaction, and the serving copy is published only after a whole run.
INTERRUPTED = (
    "interrupted (SIGINT, e.g. Ctrl-C): the models it had finished hold this run's data, the others "
    "their previous build, and BI still reads the previous serving copy; run again to finish"
)


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error of every failed step of a run (e.g. a failed blocking asset check). A failed dbt
    step gives one message per dbt error instead (the node and why), which dagster-dbt parsed from
    dbt's log lines: dbt writes no run_results.json in a run (BUILD_ARGS, defs/transform/dbt.py)."""
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterExecutionInterruptedError":
                out.append(f"{event.step_key}: {INTERRUPTED}")
                continue
            text = error.to_string() if error else event.message
            dbt_errors = dbt_error_messages(text)
            out += [f"{event.step_key}: {e}" for e in dbt_errors] or [f"{event.step_key}: {text}"]
    return out


# dagster-dbt's DagsterDbtCliRuntimeError lists dbt's error log lines after this, a blank line apart
DBT_ERRORS_HEADING = "Errors parsed from dbt logs:"
# "3 of 246 ERROR creating sql table model staging.x ... [ERROR in 0.08s]": dbt's progress line,
# which says less than the "Failure in model x (path)" and reason lines dbt writes at the end
DBT_PROGRESS_LINE = re.compile(r"^\d+ of \d+ ")


def dbt_error_messages(text: str) -> list[str]:
    """dbt's errors in a failed dbt step's error text, one per failed node, one line each: the
    "Failure in model x (path)" heading with the reason dbt gives after it. [] for other errors."""
    if DBT_ERRORS_HEADING not in text:
        return []
    listed = text.split(DBT_ERRORS_HEADING, 1)[1].split("\nStack Trace:", 1)[0]
    out: list[str] = []
    for part in listed.split("\n\n"):
        line = " ".join(part.split())
        if not line or DBT_PROGRESS_LINE.match(line):
            continue
        if out and out[-1].startswith("Failure in ") and not line.startswith("Failure in "):
            node = out[-1].removeprefix("Failure in ")  # "model x (path)"
            # "Runtime Error in model x (path) Out of Memory Error: ..." names the node itself
            out[-1] = line if node in line else f"{out[-1]}: {line}"
        else:
            out.append(line)
    return out


# "Failure in test table_checks_metric_values (models/marts/metrics/_metrics__models.yml)": one
# test holds all of a model's rules (dbt_project/tests/generic/table_checks.sql)
TABLE_CHECKS_FAILURE = re.compile(r"Failure in test ((?:table_checks|table_warnings)_\w+) \(([^)]+)\)")


def with_broken_rules(message: str, paths: Paths) -> str:
    """A failed table_checks test's message with the rules it found broken: "... -> not_null
    account_id: 2 rows; unique ticket_id: 1 row" (orchestration.lib.transform.broken_rules), from the test's
    compiled SQL (the newest one dbt wrote in the data dir's dbt target), once the run is over.
    The message is unchanged if that SQL or the warehouse cannot be read."""
    found = TABLE_CHECKS_FAILURE.search(message)
    if not found:
        return message
    name, yml_path = found.groups()
    compiled = sorted(paths.dbt_target.glob(f"*/compiled/*/{yml_path}/{name}.sql"), key=lambda f: f.stat().st_mtime)
    rules = broken_rules(compiled[-1], paths) if compiled else None
    return f"{message} -> {describe(rules)}" if rules else message
