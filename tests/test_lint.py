"""The dbt SQL passes sqlfluff with the project's rules (.sqlfluff: DuckDB dialect, dbt templater):
`make lint-sql`, the SQL half of `make lint`, finds nothing in any model or data test.

Not a unit test: the dbt templater compiles every model and sqlfluff parses the rendered SQL,
most of the time in the large metric_values expansions (3.4 min of CPU, one process)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINTED = ("dbt_project/models", "dbt_project/tests/singular")  # generic tests are macros: not compiled alone


def test_dbt_sql_has_no_sqlfluff_findings():
    make = shutil.which("make")
    if make is None:
        pytest.skip("no make on PATH (the README's commands need it)")
    proc = subprocess.run(
        [make, "--no-print-directory", "lint-sql", "SQLFLUFF_ARGS=--format json --nocolor"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"sqlfluff wrote no report (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    linted = {Path(entry["filepath"]).as_posix() for entry in report}
    expected = {p.relative_to(ROOT).as_posix() for d in LINTED for p in (ROOT / d).rglob("*.sql")}
    # every file was templated and linted: none skipped (dbt could not compile it, or sqlfluff
    # ignored it) and so passed unseen
    assert linted == expected
    findings = [
        f"{entry['filepath']}:{v['start_line_no']}:{v['start_line_pos']} {v['code']} {v['description']}"
        for entry in report for v in entry["violations"]
    ]
    assert findings == [], "sqlfluff findings (`make lint-sql` lists them):\n" + "\n".join(findings)
    assert proc.returncode == 0, proc.stderr[-3000:]
