"""dbt models as Dagster assets (dagster-dbt).

The manifest is prepared ahead of time (`python -m orchestration.cli prepare`, run by `make run`
and the tests; `dagster dev` prepares it itself), never parsed on every import in production.

Two asset definitions split the dbt graph around the Python model assets: `dbt_warehouse` builds
everything that does not read a Python model's output, `dbt_scored` builds what does (the
`models` source and everything downstream of it: account health, alerts, ...). Dagster then runs
dbt -> Python models -> dbt in one run. Both claim the warehouse pool: DuckDB has one writer.

Nothing here changes the environment or reads it to decide what exists: the entry points export
the paths dbt reads (orchestration.lib.core.environment.export_env: `make run`, `make ui`, the tests),
the engine reaches dbt as its target through the resource (`target`, set from CHW_ENGINE at run
time), and both assets exist whatever the manifest holds.
"""


import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtProjectPreparer,
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.defs.resources import Warehouse
from orchestration.lib.core import settings
from orchestration.lib.core.log import log
from orchestration.lib.core.paths import DBT_PROJECT_DIR, current, dbt_executable
from orchestration.lib.core.warehouse import POOL
from orchestration.lib.transform import transform_state
from orchestration.lib.transform.broken_rules import broken_rules, describe
from orchestration.lib.transform.manifest import prepare_dbt


class ProjectDbtPreparer(DagsterDbtProjectPreparer):
    """Under `dg dev` (make ui) the manifest is prepared when the code location loads.
    dagster-dbt's own preparer runs the `dbt` it finds on PATH, which a shell without the
    virtualenv activated does not have ("The dbt executable 'dbt' was not found"). This one runs
    the pipeline's preparation: this environment's dbt, and no parse at all when the project is
    unchanged since the last one (orchestration.lib.transform.manifest.prepare_dbt)."""

    def prepare(self, project: DbtProject) -> None:
        prepare_dbt(current())


# target folder per data dir (see Paths.dbt_target): where the prepared manifest is read from.
# current() only reads the environment here; the manifest location must be known when the
# definitions load, before any resource exists.
dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=current().dbt_target,
)
# dagster-dbt's documented hook (a preparer's prepare_if_dev): does nothing unless the code
# location is loaded by `dagster dev` / `dg dev` (DAGSTER_IS_DEV_CLI), where it refreshes the
# manifest after a project edit and a "Reload definitions" (without it the UI would show the old
# graph until `make ui` is restarted). prepare_dbt exports the paths (export_env) as it parses:
# under `make ui` these are the values the CLI exported before starting `dg dev`, so nothing changes.
ProjectDbtPreparer().prepare_if_dev(dbt_project)

SCORED_SELECT = "source:models+"
LAYER_OWNERS = {
    "staging": ["team:data-engineering"],
    "audit": ["team:data-engineering"],
    "intermediate": ["team:analytics-engineering"],
    "marts": ["team:analytics-engineering", "team:customer-success-ops"],
}


class WarehouseTranslator(DagsterDbtTranslator):
    """Asset keys `[schema, model]`, groups by layer, owners per layer (overridable in dbt meta)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta.dagster.asset_key ties it to ingest
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema") or "dbt"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        owners = super().get_owners(dbt_resource_props)
        if owners:
            return owners
        return LAYER_OWNERS.get(dbt_resource_props.get("config", {}).get("schema") or "", [])

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        return {**super().get_tags(dbt_resource_props), "layer": self.get_group_name(dbt_resource_props) or ""}


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# dbt unit tests test the SQL, not the data: `make test` runs them (tests/test_metrics_handbuilt.py,
# tests/test_health_e2e.py); in every scheduled build they cost ~15 s and could never fail on data.
#
# --no-write-json: otherwise dbt writes its manifest.json twice per command (after parsing and at the
# end), plus graph.gpickle and run_results.json: ~1.1 s of each of a run's three dbt commands
# (measured on a tiny run). Dagster loads the manifest the pipeline's `dbt parse` wrote, and
# takes each node's result from dbt's log lines, so none of them is read.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test", "--no-write-json"]


# dagster-dbt gives every dbt command its own folder under the target path (compiled SQL, a copy
# of the partial-parse cache, dbt.log when DBT_LOG_LEVEL_FILE asks for it): ~10 MB a transform run on
# the tiny preset, which nothing deleted. The newest ones are kept for debugging a failed run.
KEEP_INVOCATIONS = 30


def prune_invocation_folders(target: Path, keep: int = KEEP_INVOCATIONS) -> list[Path]:
    """Delete all but the `keep` newest dbt invocation folders (`<asset>-<run>-<id>/`, the only
    sub-folders with dagster-dbt's copy of partial_parse.msgpack, or a run_results.json or dbt.log
    from older runs) of a target path; return the deleted ones."""
    markers = ("partial_parse.msgpack", "run_results.json", "dbt.log")
    folders = [f for f in target.iterdir() if f.is_dir() and any((f / m).exists() for m in markers)]
    folders.sort(key=lambda f: f.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return folders[keep:]


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt assets (Launchpad in the UI, or run config)."""

    full_refresh: bool = False  # rebuild every incremental model in full (dbt --full-refresh)


def incremental_models_reached(entities: list[str], selected: set[dg.AssetKey]) -> tuple[list[str], list[str]]:
    """(the incremental models among `selected`, those of them downstream of the raw `entities`
    ("<source>__<entity>"), through the manifest's child map)."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes, children = manifest["nodes"], manifest["child_map"]
    incremental = {
        uid: node["name"]
        for uid, node in nodes.items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "incremental"
        and translator.get_asset_key(node) in selected
    }
    wanted = {tuple(e.split("__", 1)) for e in entities}
    todo = [uid for uid, s in manifest["sources"].items() if (s["source_name"], s["name"]) in wanted]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid not in seen:
            seen.add(uid)
            todo += children.get(uid, [])
    return sorted(incremental.values()), sorted(name for uid, name in incremental.items() if uid in seen)


def _build_args(context: dg.AssetExecutionContext, name: str, config: DbtBuildConfig, now: transform_state.Ingested,
                warehouse: Warehouse) -> list[str]:
    """BUILD_ARGS, with --full-refresh when asked for or when an extract changed further back
    than the incremental models read again (orchestration/lib/transform/transform_state.py); says so in one
    line (the run's output and the Dagster log). The same on both engines: on Spark the staging
    models rebuild in full at every build by their own config (macros/incremental/engine_writes.sql)."""
    if config.full_refresh:
        why = "asked for (run config full_refresh)"
    else:
        lookback = int(settings.load().get("incremental_lookback_days", 7))
        paths = warehouse.paths()
        decision = transform_state.full_refresh_needed(transform_state.built_from(paths, name), now, lookback)
        if decision is None:
            return BUILD_ARGS
        _, reached = incremental_models_reached(decision.entities, set(context.selected_asset_keys))
        if not reached:
            return BUILD_ARGS  # nothing incremental in this build reads what changed
        why = f"{decision.reason()}; incremental models they reach: {', '.join(reached)}"
    models, _ = incremental_models_reached([], set(context.selected_asset_keys))
    line = f"{name}: rebuilt in full (dbt --full-refresh): {', '.join(models) or 'no incremental models'}; why: {why}"
    context.log.warning(line)
    log(line)
    return [*BUILD_ARGS, "--full-refresh"]


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, name: str, config: DbtBuildConfig,
           warehouse: Warehouse):
    """dbt build, its events passed on as they come, except failed checks: those wait for dbt to
    finish (and let go of the warehouse), then carry the rules they found broken. A build of the
    asset's whole selection that succeeds records what it was built from (transform_state)."""
    paths = warehouse.paths()
    now = transform_state.ingested(paths)  # before dbt reads raw: a later ingest is seen next time
    invocation = dbt.cli(_build_args(context, name, config, now, warehouse), context=context)
    failed: list[dg.AssetCheckResult] = []
    error: Exception | None = None
    try:
        for event in invocation.stream():
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                failed.append(event)
            else:
                yield event
    except Exception as exc:  # dbt exits non-zero when an error-severity test fails: report, then fail
        error = exc
    yield from (check_with_broken_rules(event, invocation, warehouse) for event in failed)
    if error is not None:
        raise error
    if set(context.selected_asset_keys) == set(context.assets_def.keys):
        transform_state.remember(paths, name, now)
    pruned = prune_invocation_folders(Path(dbt_project.target_path))
    if pruned:
        context.log.info(f"deleted {len(pruned)} old dbt invocation folders (kept the newest {KEEP_INVOCATIONS})")


def check_with_broken_rules(check: dg.AssetCheckResult, invocation: DbtCliInvocation,
                            warehouse: Warehouse) -> dg.AssetCheckResult:
    """A failed table_checks / table_warnings check with metadata `broken_rules` (rule, subject,
    failing rows: orchestration.lib.transform.broken_rules) and a description naming them, so the UI says
    which rules broke, not only how many rows the test returned. Other checks, or a test whose
    SQL or warehouse cannot be read, as dbt reported them."""
    unique_id = check.metadata.get("unique_id")
    node = invocation.manifest.get("nodes", {}).get(getattr(unique_id, "value", unique_id) or "")
    if not node or not node["name"].startswith(("table_checks_", "table_warnings_")):
        return check
    compiled = Path(invocation.target_path) / "compiled" / node["package_name"] / node["original_file_path"] / f"{node['name']}.sql"
    rules = broken_rules(compiled, warehouse.paths())
    if not rules:
        return check
    return dg.AssetCheckResult(
        asset_key=check.asset_key,
        check_name=check.check_name,
        passed=check.passed,
        severity=check.severity,
        description=describe(rules),
        metadata={
            **check.metadata,
            "broken_rules": dg.MetadataValue.json([{"rule": r, "subject": s, "failing_rows": n} for r, s, n in rules]),
        },
    )


# Both halves always exist: the dbt project declares the `models` source (dbt_project/models/
# sources), so the manifest `prepare` writes always has it; the selection is not read from the
# manifest to decide which assets there are.
@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=SCORED_SELECT,
    name="dbt_warehouse",
    dagster_dbt_translator=translator,
    pool=POOL,
)
def dbt_warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig, warehouse: Warehouse):
    """Staging, audit, intermediate and metric marts."""
    yield from _build(context, dbt, "dbt_warehouse", config, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=SCORED_SELECT,
    name="dbt_scored",
    dagster_dbt_translator=translator,
    pool=POOL,
)
def dbt_scored(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig, warehouse: Warehouse):
    """Models that read the Python models' outputs: health score, alerts and what follows."""
    yield from _build(context, dbt, "dbt_scored", config, warehouse)


dbt_asset_defs: list[dg.AssetsDefinition] = [dbt_warehouse, dbt_scored]


# The dbt of this environment by its path, not by PATH: `make ui` and a scheduler's plain shell
# do not activate the virtualenv (orchestration/lib/core/paths.py). The engine is the dbt target:
# profiles.yml names its outputs after the engines (duckdb, spark), and CHW_ENGINE, always
# exported by the entry points (export_env), is read when a run starts.
dbt_resource = DbtCliResource(
    project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable(),
    target=dg.EnvVar("CHW_ENGINE"),
)
