"""DuckDB and Spark build the same tables from the same files.

One tiny generated landing zone goes through the DuckDB pipeline (`python -m orchestration.cli
run`, as `make run` does); then the same dbt project is built on Spark (dbt-spark, session method,
one local Spark session) over that run's raw, audit and models Parquet, and every table of the
schemas staging, intermediate, marts, audit and reference is compared: common types, doubles
rounded to 9 places, `EXCEPT ALL` both ways (orchestration/lib/transform/engine_equality.py).
Twice: from nothing, then after two more days and a withdrawn extract, when both engines build
incrementally. The per-table reports are written to tests/artifacts/engine_equality.txt.

Spark needs Java and the Spark extra (`make setup WITH_SPARK=1`): where either is absent the
Spark tests skip with that reason; `.ci/run` installs both. The comparison's own test (a table
with one value changed is caught) needs neither and always runs.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from datetime import date

import duckdb
import pytest

from orchestration.lib.core.paths import Paths
from orchestration.lib.transform import engine_equality
from tests.browser import artifacts_dir
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def require_spark() -> None:
    """Skip (with the reason) where Spark cannot run: no Java on PATH, or no Spark extra."""
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: install a Java 17 runtime (apt-get install -y "
                    "openjdk-17-jre-headless; .ci/run does) to build the dbt project on Spark")
    for module, package in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the Spark extra is not installed ({package} missing): make setup WITH_SPARK=1")


LAST_DAYS = ("2026-10-30", "2026-10-31")  # held back from the first builds, then added
WITHDRAWN = "product/events/2026-10-27"  # within the lookback: the second builds stay incremental


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """The DuckDB pipeline and a Spark build of the same dbt project over its files, twice:
    'full', the extracts up to 2026-10-29 built from nothing; then 'incremental', once the last
    two days arrive and one events extract is withdrawn, the DuckDB pipeline's daily run and a
    Spark build without --full-refresh on the tables the first one left. Both compared."""
    require_spark()
    from orchestration.lib.demo import generate

    root = tmp_path_factory.mktemp("engines")
    generated = root / "generated"
    generate(generated, preset="tiny", seed=7, end_date=date(2026, 10, 31))
    paths = Paths(landing=root / "landing", warehouse=root / "data" / "warehouse.duckdb", data=root / "data")
    shutil.copytree(generated, paths.landing)
    held_back = [d for d in paths.landing.glob("*/*/*") if d.name in LAST_DAYS]
    assert held_back, "the generator wrote no extract for the last two days"
    for folder in held_back:
        shutil.rmtree(folder)
    spark_dir = root / "spark"
    stages, texts = {}, []
    for stage in ("full", "incremental"):
        if stage == "incremental":
            for folder in held_back:
                shutil.copytree(generated / folder.relative_to(paths.landing), folder)
            shutil.rmtree(paths.landing / WITHDRAWN)
        run_cli("run", landing=paths.landing, data=paths.data)
        started = time.monotonic()
        build = engine_equality.build_on_spark(paths, spark_dir, full_refresh=stage == "full")
        seconds = time.monotonic() - started
        results = engine_equality.compare(paths.warehouse, spark_dir / "warehouse",
                                          engine_equality.dbt_failures(spark_dir))
        texts.append(f"## {stage} build\n" + engine_equality.report(results)
                     + f"\nSpark build: {seconds:.0f} s, dbt exit code {build.returncode}\n")
        stages[stage] = (build, engine_equality.dbt_failures(spark_dir), results, texts[-1])
    (artifacts_dir() / "engine_equality.txt").write_text("\n".join(texts))
    return stages


@pytest.mark.parametrize("stage", ["full", "incremental"])
def test_spark_build_finishes(engines, stage):
    build, failures, _, _ = engines[stage]
    failed = {name: why for name, why in failures.items() if why != "skipped"}
    listed = "\n".join(f"  {name}: {why}" for name, why in sorted(failed.items()))
    assert build.returncode == 0, (
        f"dbt build --target spark ({stage}) exited {build.returncode}: {len(failed)} nodes failed, "
        f"{len(failures) - len(failed)} skipped after them:\n{listed}\n"
        f"---dbt output (end)---\n{build.stdout[-3000:]}")


@pytest.mark.parametrize("stage", ["full", "incremental"])
def test_every_table_equal_on_both_engines(engines, stage):
    _, _, results, text = engines[stage]
    duckdb_tables = [r for r in results if r.duckdb_rows is not None]
    # the whole project: a build that made next to nothing must not pass for want of tables
    assert len(duckdb_tables) >= 80, f"only {len(duckdb_tables)} DuckDB tables compared"
    differing = [r for r in results if not r.equal]
    assert not differing, f"{len(differing)} of {len(results)} tables differ after the {stage} build:\n{text[:20000]}"


def test_spark_second_build_replaced_only_what_changed(engines):
    """The second Spark build was incremental: the models by period recomputed from a day near the
    new extracts, not every period, and the day models read only the days the new extracts reach."""
    build = engines["incremental"][0]
    for model in ("int_usage__metric_values", "int_service__metric_values", "int_health__usage_daily"):
        assert f"period_increment {model}: recomputing periods from 2026-10-" in build.stdout, (
            f"{model} did not build incrementally on Spark:\n{build.stdout[-3000:]}")
    assert "recomputing every period" not in build.stdout, build.stdout[-3000:]


def test_comparison_catches_a_difference(tmp_path):
    """The comparison itself: equal tables in other types and files are equal; one changed value,
    a missing column, a missing table are each caught, with the differing row shown."""
    warehouse, spark = tmp_path / "w.duckdb", tmp_path / "spark" / "warehouse"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts; create schema intermediate")
    con.execute("""create table marts.t as select * from (values
        (1::bigint, 0.1::double + 0.2::double, date '2026-10-01', timestamp '2026-10-01 08:30:00', true, 'a'),
        (9007199254740993::bigint, -0.0, null, null, false, null),
        (9007199254740993::bigint, -0.0, null, null, false, null))
        as v(id, ratio, day, seen_at, flag, label)""")
    con.execute("create table intermediate.t__increment_state as select 1 as x")
    con.close()

    def spark_table(name: str, select: str) -> None:
        folder = spark / "marts.db" / name
        folder.mkdir(parents=True, exist_ok=True)
        duckdb.sql(f"copy ({select}) to '{folder / 'part-00000.parquet'}' (format parquet)")

    # the same rows as Spark would write them: int, decimal, timestamp with time zone, other order
    same = """select * from (values
        (9007199254740993::bigint, 0.0::decimal(10, 3), null::date, null::timestamptz, false, null),
        (1::bigint, 0.3::decimal(10, 3), date '2026-10-01', timestamptz '2026-10-01 08:30:00+00', true, 'a'),
        (9007199254740993::bigint, 0.0::decimal(10, 3), null::date, null::timestamptz, false, null))
        as v(id, ratio, day, seen_at, flag, label)"""
    spark_table("t", same)
    results = engine_equality.compare(warehouse, spark)
    assert [(r.name, r.equal) for r in results] == [("marts.t", True)], engine_equality.report(results)

    # one value changed (an id beyond a double's precision), a column dropped, a row lost, a table added
    spark_table("t", same.replace("(9007199254740993::bigint, 0.0::decimal(10, 3), null::date, null::timestamptz, "
                                  "false, null))", "(9007199254740992::bigint, 0.0, null, null, false, null))"))
    spark_table("u", "select 1 as x")
    results = {r.name: r for r in engine_equality.compare(warehouse, spark)}
    assert set(results) == {"marts.t", "marts.u"}
    assert results["marts.u"].problems == ["absent on DuckDB"]
    problems = "\n".join(results["marts.t"].problems)
    assert "1 rows only on DuckDB" in problems and "id: 9007199254740993" in problems, problems
    assert "1 rows only on Spark" in problems and "id: 9007199254740992" in problems, problems
    assert "values differ in columns ['id']" in problems, problems

    spark_table("t", "select id, ratio, day, seen_at, flag from (" + same + ")")
    (spark / "marts.db" / "u" / "part-00000.parquet").unlink()
    results = {r.name: r for r in engine_equality.compare(warehouse, spark)}
    assert results["marts.t"].problems == ["columns differ: only on DuckDB ['label'], only on Spark []"]
    assert results["marts.u"].problems[0].startswith("no Parquet file")

    # a table Spark did not build is named with what dbt said about it
    shutil.rmtree(spark / "marts.db")
    results = engine_equality.compare(warehouse, spark, {"t": "error: boom"})
    assert results[0].problems == ["absent on Spark (dbt on Spark: error: boom)"]
