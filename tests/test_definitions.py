"""The Dagster code location loads, with the graph landing -> raw -> staging -> marts."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib.core.environment import export_env
from orchestration.lib.core.paths import current
from orchestration.lib.transform.manifest import prepare_dbt


@pytest.fixture(scope="module")
def defs(tmp_path_factory):
    import os

    data = tmp_path_factory.mktemp("defs")
    os.environ["CHW_WAREHOUSE"] = str(data / "warehouse.duckdb")
    os.environ["CHW_DATA_DIR"] = str(data)
    export_env(current())
    prepare_dbt(current())
    from orchestration.definitions import defs as loaded

    dg.Definitions.validate_loadable(loaded)
    return loaded


def test_every_contract_entity_has_an_ingest_asset(defs):
    from orchestration.lib.core.contract import ENTITIES

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for e in ENTITIES:
        assert f"raw/{e.source}/{e.name}" in keys


def test_staging_reads_the_ingest_assets(defs):
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staging", "stg_crm__accounts"])).parent_keys
    assert dg.AssetKey(["raw", "crm", "accounts"]) in parents


def test_marts_have_owners_groups_and_descriptions(defs):
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["marts", "metric_values"]))
    assert node.group_name == "marts"
    assert node.owners
    assert "One row per" in (node.description or "")


def test_the_program_marts_are_assets_the_serving_copy_publishes(defs):
    """metric_catalog and metric_reviews (vars.chw.program) are dbt assets in the marts group,
    downstream of metric_values, and the publish waits for them."""
    graph = defs.resolve_asset_graph()
    serve = graph.get(dg.AssetKey(["serve", "marts_duckdb"]))
    for name in ("metric_catalog", "metric_reviews"):
        node = graph.get(dg.AssetKey(["marts", name]))
        assert node.group_name == "marts"
        assert "One row per" in (node.description or "")
        assert node.key in serve.parent_keys
    reviews = graph.get(dg.AssetKey(["marts", "metric_reviews"]))
    assert {dg.AssetKey(["marts", "metric_values"]), dg.AssetKey(["marts", "metric_catalog"])} <= reviews.parent_keys


def test_the_serving_copy_waits_for_every_table_it_publishes(defs):
    """The publish copies every table of the marts and audit schemas: each is upstream of it, so
    Dagster never publishes before a later dbt step has built one (marts.health_score_evidence)."""
    graph = defs.resolve_asset_graph()
    published = {k for k in graph.get_all_asset_keys() if k.path[0] in ("marts", "audit")}
    assert dg.AssetKey(["marts", "health_score_evidence"]) in published
    serve = graph.get(dg.AssetKey(["serve", "marts_duckdb"]))
    assert published - serve.parent_keys == set()


def test_dbt_tests_are_asset_checks(defs):
    graph = defs.resolve_asset_graph()
    assert any(k.asset_key == dg.AssetKey(["staging", "stg_crm__accounts"]) for k in graph.asset_check_keys)


def test_dbt_runs_through_dagster_dbts_own_resource_with_this_environments_dbt(defs):  # noqa: ARG001
    """Public APIs only: the dbt resource is dagster-dbt's DbtCliResource itself (no subclass
    overriding its private hooks), and it runs the dbt beside this interpreter, so a shell
    without the virtualenv on PATH (`make ui`, a scheduler) still finds it."""
    from dagster_dbt import DbtCliResource

    from orchestration.defs.transform.dbt import dbt_resource

    assert type(dbt_resource) is DbtCliResource
    assert Path(dbt_resource.dbt_executable) == Path(sys.executable).with_name("dbt")
    assert Path(dbt_resource.dbt_executable).exists()


def test_no_private_dagster_or_dbt_api_and_no_exit_tricks():
    """What the project imports and overrides of Dagster and dbt is their documented surface."""
    import re

    root = Path(__file__).resolve().parents[1] / "orchestration"
    pattern = re.compile(r"dagster\._|_initialize_dbt_core_adapter|os\._exit|def _cli_version")
    found = [f"{p}:{n}" for p in root.rglob("*.py") for n, line in enumerate(p.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_old_dbt_invocation_folders_are_pruned(defs, tmp_path):  # noqa: ARG001 (defs: the manifest its module loads)
    """Each dbt command of a run gets its own folder (~30 MB a run, tiny preset): the newest
    KEEP_INVOCATIONS stay, older ones go; the shared manifest and anything else stay."""
    import os

    from orchestration.defs.transform.dbt import prune_invocation_folders

    for i in range(8):
        folder = tmp_path / f"dbt_warehouse-run{i}-abc"
        folder.mkdir()
        (folder / ("partial_parse.msgpack", "run_results.json", "dbt.log")[i % 3]).write_text("{}")
        os.utime(folder, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "compiled").mkdir()  # a folder that is no dbt invocation

    pruned = prune_invocation_folders(tmp_path, keep=3)

    assert sorted(p.name for p in pruned) == [f"dbt_warehouse-run{i}-abc" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "compiled", "dbt_warehouse-run5-abc", "dbt_warehouse-run6-abc", "dbt_warehouse-run7-abc", "manifest.json",
    ]


def test_schedule_and_sensors(defs):
    assert defs.get_schedule_def("daily_transform_schedule")
    for name in ("new_extracts_sensor", "transform_after_ingest", "run_failure_pager"):
        assert defs.get_sensor_def(name)


def test_manifest_is_parsed_again_only_when_the_project_changes(defs, capsys, monkeypatch):
    """prepare_dbt skips `dbt parse` for an unchanged project (daily runs), never for a changed one."""
    paths = current()
    manifest = paths.dbt_target / "manifest.json"
    written = manifest.stat().st_mtime_ns
    prepare_dbt(paths)
    assert "parse skipped" in capsys.readouterr().out
    assert manifest.stat().st_mtime_ns == written

    monkeypatch.setenv("CHW_PARSE_TEST", "changed")  # a variable dbt could read changes the digest
    prepare_dbt(paths)
    assert "parse skipped" not in capsys.readouterr().out
    assert manifest.stat().st_mtime_ns != written


def test_a_moved_project_is_parsed_from_scratch(defs, tmp_path, monkeypatch):
    """The manifest and dbt's partial-parse cache hold absolute paths (seed files): a data dir
    built from one checkout and run from another must not reuse them. A copy of the project
    elsewhere gets its own digest, and a parse for it gets seed paths in the copy."""
    import json
    import shutil

    from orchestration.lib.transform import manifest

    here = manifest.manifest_fingerprint()
    moved = tmp_path / "elsewhere" / "dbt_project"
    shutil.copytree(manifest.DBT_PROJECT_DIR, moved, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(manifest, "DBT_PROJECT_DIR", moved)
    assert manifest.manifest_fingerprint() != here

    paths = current()
    try:
        prepare_dbt(paths)
        seeds = [n for n in json.loads((paths.dbt_target / "manifest.json").read_text())["nodes"].values()
                 if n["resource_type"] == "seed"]
        assert seeds and all(n["root_path"] == str(moved) for n in seeds)
    finally:
        monkeypatch.undo()
        prepare_dbt(paths)  # back to this checkout's manifest for the other tests


def test_the_manifest_digest_follows_the_variables_the_project_reads(monkeypatch):
    """A variable the dbt project can read (CHW_*, DBT_*) changes the digest; others do not."""
    from orchestration.lib.transform import manifest

    here = manifest.manifest_fingerprint()
    monkeypatch.setenv("SOME_OTHER_VARIABLE", "x")
    assert manifest.manifest_fingerprint() == here
    monkeypatch.setenv("CHW_MODELS_DIR", "/elsewhere/models")
    assert manifest.manifest_fingerprint() != here


def test_dbt_errors_are_read_from_the_failed_step_one_line_per_node():
    """dbt writes no run_results.json in a run (--no-write-json): the CLI's "What failed" lines
    come from the dbt errors dagster-dbt lists in the step's error. The progress lines go, each
    "Failure in" heading takes its reason; other errors give nothing. The text is an out-of-memory
    failure and a failed test as dagster-dbt 0.29 wrote them."""
    from orchestration.run.failures import dbt_error_messages

    text = (
        "dagster_dbt.errors.DagsterDbtCliRuntimeError: The dbt CLI process with command\n\n`dbt build`\n\n"
        "failed with exit code `1`. Check the stdout in the Dagster compute logs for the full information about "
        "the error.\n\nErrors parsed from dbt logs:\n\n"
        "3 of 246 ERROR creating sql table model staging.stg_crm__accounts .............. [ERROR in 0.08s]\n\n"
        "Failure in model stg_crm__accounts (models/staging/crm/stg_crm__accounts.sql)\n\n"
        "  Runtime Error in model stg_crm__accounts (models/staging/crm/stg_crm__accounts.sql)\n"
        "  Out of Memory Error: could not allocate block of size 256.0 KiB (9.5 MiB/9.5 MiB used)\n\n"
        "Failure in test table_checks_metric_values (models/marts/metrics/_metrics__models.yml)\n\n"
        "  Got 2 results, configured to fail if != 0\n\n"
        "Stack Trace:\n  File \"dagster_dbt/core/dbt_cli_invocation.py\", line 475"
    )
    assert dbt_error_messages(text) == [
        "Runtime Error in model stg_crm__accounts (models/staging/crm/stg_crm__accounts.sql) "
        "Out of Memory Error: could not allocate block of size 256.0 KiB (9.5 MiB/9.5 MiB used)",
        "Failure in test table_checks_metric_values (models/marts/metrics/_metrics__models.yml): "
        "Got 2 results, configured to fail if != 0",
    ]
    assert dbt_error_messages("dagster._core.errors.DagsterExecutionStepExecutionError: boom") == []


@pytest.mark.parametrize("value", ["abc", "0", "-1", "", "1.5"])
def test_a_bad_dbt_thread_count_is_named_before_anything_runs(monkeypatch, value):
    monkeypatch.setenv("CHW_DBT_THREADS", value)
    with pytest.raises(SystemExit, match=r"CHW_DBT_THREADS=.*whole number, 1 or more"):
        export_env(current())


def test_a_dbt_thread_count_is_accepted(monkeypatch):
    monkeypatch.setenv("CHW_DBT_THREADS", "1")
    export_env(current())  # no error


def test_loading_the_definitions_leaves_the_environment_as_it_was(defs, tmp_path):  # noqa: ARG001 (the manifest)
    """No import-time side effects: a process that imports the code location (the manifest
    prepared, only the contract's variables set) has the same environment afterwards. The paths
    dbt reads are exported by the entry points (export_env), not by importing definitions."""
    import json
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHW_", "DBT_"))}
    env.update(CHW_WAREHOUSE=os.environ["CHW_WAREHOUSE"], CHW_DATA_DIR=os.environ["CHW_DATA_DIR"])
    code = ("import json, os; before = dict(os.environ); import orchestration.definitions as d; "
            "after = dict(os.environ); print(json.dumps({'changed': sorted(k for k in set(before) | set(after) "
            "if before.get(k) != after.get(k)), 'assets': sorted(a.node_def.name for a in d.defs.assets)}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["changed"] == []
    assert {"dbt_warehouse", "dbt_scored"} <= set(result["assets"])  # both halves, whatever the manifest


def test_the_engine_is_the_dbt_target(defs):  # noqa: ARG001 (the manifest)
    """profiles.yml names its outputs after the engines: the dbt resource's target is CHW_ENGINE,
    read when a run starts. Which models rebuild in full on Spark is the models' own config
    (macros/incremental/engine_writes.sql; tests/test_engine_equality.py builds incrementally)."""
    import os

    from orchestration.defs.transform.dbt import dbt_resource

    assert os.environ["CHW_ENGINE"] == "duckdb"  # export_env exported the default
    assert isinstance(dbt_resource.target, dg.EnvVar) and dbt_resource.target.env_var_name == "CHW_ENGINE"
    profiles = (Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml").read_text()
    assert "\n    duckdb:\n" in profiles and "\n    spark:\n" in profiles


@pytest.mark.unit
def test_a_run_that_succeeds_without_materializing_an_asset_is_caught():
    """dagster-dbt's step succeeds when dbt's log lines about a model are lost, and the model's
    asset then has no materialization in a run Dagster calls a success (run_pipeline fails it)."""
    from orchestration.run.pipeline import unmaterialized

    @dg.asset
    def built() -> None:
        return None

    @dg.asset(deps=[built], output_required=False)
    def silent():  # like a dbt model whose lines never reached dagster-dbt: no output, no error
        if False:
            yield dg.Output(None)

    @dg.asset(deps=[silent])
    def downstream() -> None:
        return None

    job = dg.define_asset_job("job", selection=dg.AssetSelection.all())
    defs = dg.Definitions(assets=[built, silent, downstream], jobs=[job])
    result = defs.resolve_job_def("job").execute_in_process()
    assert result.success
    assert unmaterialized(job.selection, defs, result) == ["downstream", "silent"]

    complete = dg.Definitions(assets=[built], jobs=[dg.define_asset_job("job", selection=dg.AssetSelection.all())])
    assert unmaterialized(dg.AssetSelection.all(), complete, complete.resolve_job_def("job").execute_in_process()) == []
