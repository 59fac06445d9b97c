"""Fault tests that need no pipeline run of their own (tests/test_faults.py has those):

1. version skew: the serving copy is a DuckDB 2.x file, which a 1.x reader cannot open (docs/ARCHITECTURE.md).
   Each publish also writes the marts as Parquet, which any reader opens, and a note beside the
   copy (serving/README.txt) telling a BI user which DuckDB reads it, what a 1.x reader says, and
   where the Parquet files are; README.md's BI section says the same.
2. the environment: the installed packages are exactly requirements.lock, and the lock is what
   `make lock` compiles from requirements.in (offline from uv's cache; skipped, with the reason,
   when neither the cache nor the registry can resolve it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.lib.serve.publish import NOTE_FILE, connect_serving, publish
from tests.test_publish import make_warehouse

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")
# What DuckDB 1.x says when it opens a 2.x file (duckdb 1.5.6 on a file written by 2.0.0)
OLD_READER_ERROR = "The database file was created with a newer version of DuckDB"


def test_parquet_export_reads_without_duckdb_and_the_version_note_is_where_bi_users_look(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", version=2)
    result = publish(wh, tmp_path / "serving")
    serving = connect_serving(tmp_path / "serving")
    try:
        marts = {name: serving.execute(f'select * from marts."{name}"').fetchall()
                 for (name,) in serving.execute(
                     "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
    finally:
        serving.close()
    assert marts and {p.stem for p in result.parquet_files} == set(marts)
    for path in result.parquet_files:  # read by pyarrow: no DuckDB involved
        table = pq.read_table(path)
        assert table.num_rows == len(marts[path.stem]), path
        assert sorted(map(tuple, (r.values() for r in table.to_pylist()))) == sorted(marts[path.stem]), path

    note = " ".join((tmp_path / "serving" / NOTE_FILE).read_text().split())  # words, not line breaks
    major = duckdb.__version__.split(".")[0]
    assert f"DuckDB {duckdb.__version__}" in note and f"DuckDB {major}.x" in note
    assert "1.x" in note and OLD_READER_ERROR in note
    assert "parquet/metric_values.parquet" in note

    def section(path: Path, heading: str) -> str:
        text = path.read_text()
        part = text[text.index(heading):]
        return " ".join(part[: part.index("\n## ", 1)].split())

    # the README's BI section names the note and the 1.x limit; the operations page it links to
    # quotes the error a 1.x reader shows, so that a search for that message finds the way out
    bi = section(ROOT / "README.md", "## Serving BI tools")
    assert NOTE_FILE in bi and "1.x" in bi and "docs/operations.md#the-serving-copy" in bi
    serving = section(ROOT / "docs" / "operations.md", "## The serving copy")
    assert NOTE_FILE in serving and OLD_READER_ERROR in serving and "1.x" in serving


def _packages(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def test_installed_packages_are_the_lockfile():
    if not UV.exists():
        pytest.skip(f"no uv at {UV} (make setup installs it)")
    freeze = subprocess.run([UV, "pip", "freeze", "--python", sys.executable],
                            capture_output=True, text=True, timeout=120, check=True).stdout.splitlines()
    installed = _packages(freeze)
    locked = _packages((ROOT / "requirements.lock").read_text().splitlines())
    if "pyspark" in installed:  # the Spark extra (make setup WITH_SPARK=1 / CHW_ENGINE=spark)
        locked |= _packages((ROOT / "requirements-spark.lock").read_text().splitlines())
    # the Makefile installs uv itself with pip (pinned there), and the project is installed editable
    extra = {name: v for name, v in installed.items() if name not in locked and name not in ("pip", "uv")}
    assert extra == {}, "installed but not in requirements.lock"
    differs = {name: (v, installed.get(name)) for name, v in locked.items() if installed.get(name) != v}
    assert differs == {}, "requirements.lock (locked, installed) differs from the environment: run `make setup`"


def test_lockfile_is_up_to_date_with_requirements_in(tmp_path):
    """What `make lock` writes, with the current lock as uv's preferences (it keeps a pin that
    still satisfies requirements.in): equal to the lock unless requirements.in changed."""
    if not UV.exists():
        pytest.skip(f"no uv at {UV} (make setup installs it)")
    for name in ("requirements.in", "requirements.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    out = tmp_path / "compiled.lock"
    errors = []
    for offline in (["--offline"], []):  # uv's cache first; the registry only if the cache lacks something
        shutil.copy(ROOT / "requirements.lock", out)
        proc = subprocess.run(
            [UV, "pip", "compile", "requirements.in", "--python-version", "3.11", "--no-header", "-o", str(out),
             "--quiet", *offline],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )
        if proc.returncode == 0:
            break
        errors.append(proc.stderr.strip()[-800:])
    else:
        if re.search(r"offline|network|connect|dns|timed out|certificate|tls|failed to fetch", errors[-1], re.I):
            pytest.skip(f"cannot resolve requirements.in: uv's cache is incomplete and the registry is unreachable: "
                        f"{errors[-1]}")
        pytest.fail("uv pip compile failed:\n" + "\n---\n".join(errors))
    compiled = out.read_text()
    assert "://" not in compiled, "index URLs in the compiled lock"
    assert compiled == (ROOT / "requirements.lock").read_text(), \
        "requirements.lock is not what `make lock` compiles from requirements.in: run `make lock`"
