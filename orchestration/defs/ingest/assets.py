"""One Dagster asset per contract entity: landing files of an extract date -> raw + audit Parquet.

The work is done by `orchestration.lib.ingest` (plain, unit-tested); this module adds what
Dagster is for: partitions (extract dates, many per run via a single-run backfill), lineage,
metadata per materialization, and the checks:

- `no_rejected_files` (every entity, WARN): a landing file was rejected whole (e.g. a missing
  required column); the other files still loaded.
- `fresh` (every entity, WARN): the entity's newest extract is not more than
  `freshness_max_lag_days` (by kind) behind the newest extract of the landing zone, so a feed
  that stopped arriving shows as a warning in the UI. Measured in extract dates, not wall-clock
  time, so re-running old extracts is not "stale".
- `quarantine_share` (every entity, blocking): no partition's invalid rows exceed
  `quarantine_block_pct` of its rows (exact duplicate rows, a file sent twice, are quarantined
  but not invalid: `PartitionResult.invalid_pct`). A failure stops downstream assets in the same
  run, and the partition is ingested again at every run until a corrected extract is re-sent;
  dbt withholds that day's health scoring (int_health__blocked_extract_dates, same rule).
- `scale_consistency` (survey responses, blocking): no loaded row fails the great-expectations
  suite, and the same quarantine share as above. It reads the results of the one GX validation
  that ingestion ran over all the run's extract dates (GX is not run a second time).

The landing files no partition reads (a folder that is not a date, an extract dated after the
run's date, an unknown entity, ...) are logged as rejected by `unplaced.refresh` at every asset
run, and each entity's `no_rejected_files` check lists those under its folder.

Cost per partition matters here: a backfill is extract dates x 16 entities partitions, most of
them tiny. So a run reuses one DuckDB session per thread, writes the `_schema` files once per
asset, validates survey rows with GX once per run, and logs a progress line per ~10 % of the
partitions (every partition when there are few) rather than one Dagster event per partition;
the per-partition figures are in the `by_extract_date` metadata table.
"""


import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from orchestration.defs.partitions import extract_date_partitions
from orchestration.lib.core import settings
from orchestration.lib.core.contract import ENTITIES, Entity
from orchestration.lib.core.paths import current
from orchestration.lib.ingest import (
    PartitionResult,
    ensure_schemas,
    feed_lag,
    ingest_partition,
    ingest_partitions,
    landing_state,
    unplaced,
)
from orchestration.lib.ingest.discover import Unplaced, newest_extract_date
from orchestration.lib.ingest.sql import Sessions

OWNERS = ["team:data-engineering"]
KINDS = {"python", "parquet"}
RESPONSES = ("survey", "responses")
SURVEYS_KEY = dg.AssetKey(["raw", "survey", "surveys"])
REJECTED_CHECK = "no_rejected_files"
FRESH_CHECK = "fresh"
INGEST_THREADS = 2  # the machine's cores; each thread reuses one DuckDB session
SCALE_CHECK = "scale_consistency"
QUARANTINE_CHECK = "quarantine_share"
LOG_EVERY_PARTITION_UP_TO = 31  # runs of more partitions log progress per ~10 % instead

# `backfill_policy` is chosen (docs/ARCHITECTURE.md: one run per backfill, BackfillPolicy.single_run()), and
# its beta warning repeated once per ingest asset, 16 times in every process that loads the
# definitions (the pipeline and its ingest child): noise in every run's output.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy` of function `asset` is currently in beta",
                        category=dg.BetaWarning)


def asset_key(ent: Entity) -> dg.AssetKey:
    return dg.AssetKey(["raw", ent.source, ent.name])


def describe(ent: Entity) -> str:
    """The asset description, from the contract."""
    cols = []
    for c in ent.columns:
        text = c.name + ("*" if c.name == ent.key else "") + f" {c.type}"
        if c.required:
            text += " required"
        if c.allowed:
            text += f" ({', '.join(c.allowed)})"
        cols.append(text)
    lines = [
        f"Raw `{ent.source}.{ent.name}`, a **{ent.kind}** feed keyed by `{ent.key}` (docs/contract.md).",
        "",
        "Landing files of one extract date, read by column name, cast to the contract types and "
        "validated; good rows land in `raw/" + f"{ent.source}/{ent.name}/extract_date=<d>/part.parquet`, "
        "bad rows in audit.quarantine with a reason, every file in audit.load_log. Extra columns are kept.",
        "",
        "Columns (`*` key): " + "; ".join(cols) + ".",
    ]
    if (ent.source, ent.name) in (RESPONSES, ("survey", "surveys")):
        lines += ["", "Also validated by great-expectations for survey scale consistency."]
    return "\n".join(lines)


def _partition_table(results: list[PartitionResult]) -> str:
    rows = ["| extract_date | files | rejected | rows_in | loaded | quarantined |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {r.extract_date} | {len(r.files)} | {r.files_rejected} | {r.rows_in} | {r.rows_loaded} | {r.rows_quarantined} |"
        for r in results
    ]
    return "\n".join(rows)


def _rejected_check(results: list[PartitionResult], elsewhere: list[Unplaced] = ()) -> dg.AssetCheckResult:
    paths = current()
    rejected = [
        {"extract_date": r.extract_date, "file": f.file, "rows_in": f.rows_in, "error": f.error}
        for r in results
        for f in r.files
        if f.status == "rejected"
    ]
    rejected += [
        {"extract_date": u.extract_date, "file": unplaced.rel_path(paths, u.path), "rows_in": None,
         "error": unplaced.error_text(paths, u)}
        for u in elsewhere
    ]
    return dg.AssetCheckResult(
        check_name=REJECTED_CHECK,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"files_rejected": dg.MetadataValue.int(len(rejected)), "rejected": dg.MetadataValue.json(rejected)},
    )


def _fresh_check(ent: Entity) -> dg.AssetCheckResult:
    """WARN when this entity's newest extract lags the landing zone's newest extract."""
    from datetime import date

    landing = current().landing
    max_lag = feed_lag.max_lag_days(ent.source, ent.name, ent.kind)  # the run summary's limit too
    newest_any = max((d for e in ENTITIES if (d := newest_extract_date(landing, e))), default=None)
    newest_own = newest_extract_date(landing, ent)
    if newest_any is None:
        lag = 0
    elif newest_own is None:
        lag = None
    else:
        lag = (date.fromisoformat(newest_any) - date.fromisoformat(newest_own)).days
    passed = lag is not None and lag <= max_lag
    return dg.AssetCheckResult(
        check_name=FRESH_CHECK,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"newest extract {newest_own or 'never'}; landing zone newest {newest_any}; "
            f"allowed lag {max_lag} days for a {ent.kind} feed"
        ),
        metadata={
            "lag_days": dg.MetadataValue.int(-1 if lag is None else lag),
            "max_lag_days": dg.MetadataValue.int(max_lag),
            "newest_extract": dg.MetadataValue.text(newest_own or ""),
        },
    )


WHAT_TO_DO = (
    "see audit.quarantine for each row's reason, then re-send a corrected extract (the partition is "
    "ingested again at every run until then); exact duplicate rows are not counted"
)


def _over_limit(results: list[PartitionResult], limit: float) -> list[str]:
    return [f"{r.extract_date}: {r.invalid_pct:.1f}% invalid" for r in results if r.invalid_pct > limit]


def _quarantine_check(results: list[PartitionResult]) -> tuple[dg.AssetCheckResult, list[str]]:
    """Blocking, every entity: no partition's invalid share (`PartitionResult.invalid_pct`) is over
    `quarantine_block_pct`. Also returns the extract dates that fail it."""
    limit = float(settings.load()["quarantine_block_pct"])
    over = _over_limit(results, limit)
    invalid = sum(r.rows_invalid for r in results)
    checked = sum(r.rows_loaded + r.rows_invalid for r in results)
    check = dg.AssetCheckResult(
        check_name=QUARANTINE_CHECK,
        passed=not over,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"every extract within {limit:g}% invalid rows"
            if not over
            else f"extracts over {limit:g}% invalid rows: {', '.join(over)}; {WHAT_TO_DO}"
        ),
        metadata={
            "rows_invalid": dg.MetadataValue.int(invalid),
            "rows_duplicate": dg.MetadataValue.int(sum(r.rows_duplicate for r in results)),
            "pct": dg.MetadataValue.float(round(100.0 * invalid / checked if checked else 0.0, 3)),
            "max_partition_pct": dg.MetadataValue.float(round(max((r.invalid_pct for r in results), default=0.0), 3)),
            "quarantine_block_pct": dg.MetadataValue.float(limit),
            "over_limit": dg.MetadataValue.json(over),
        },
    )
    return check, [r.extract_date for r in results if r.invalid_pct > limit]


def _scale_check(results: list[PartitionResult]) -> tuple[dg.AssetCheckResult, list[str]]:
    """Blocking: no loaded row failed the GX suite (from the validation ingestion ran, see
    `PartitionResult.loaded_failing_validation`), every partition with loaded rows was validated,
    and the quarantined share of every partition stays within `quarantine_block_pct`.
    Also returns the extract dates that fail it."""
    limit = float(settings.load()["quarantine_block_pct"])
    failing: dict[str, int] = {}
    revalidation: dict[str, int] = {}
    worst = 0.0
    over: list[str] = []
    blocked: list[str] = []
    for r in results:
        for name, n in r.expectation_failures.items():
            failing[name] = failing.get(name, 0) + n
        pct = r.invalid_pct
        worst = max(worst, pct)
        if pct > limit:
            over.append(f"{r.extract_date}: {pct:.1f}% invalid")
        for name, n in r.loaded_failing_validation.items():
            revalidation[name] = revalidation.get(name, 0) + n
        if r.rows_loaded and not r.validated:
            revalidation["not validated"] = revalidation.get("not validated", 0) + r.rows_loaded
        if pct > limit or r.loaded_failing_validation or (r.rows_loaded and not r.validated):
            blocked.append(r.extract_date)
    rows = sum(r.rows_in for r in results)
    quarantined = sum(r.rows_invalid for r in results)
    checked_total = sum(r.rows_loaded + r.rows_invalid for r in results)
    pct_total = 100.0 * quarantined / checked_total if checked_total else 0.0
    check = dg.AssetCheckResult(
        check_name=SCALE_CHECK,
        passed=not revalidation and not over,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "loaded rows validate clean and quarantine share within limit"
            if not revalidation and not over
            else f"raw rows failing GX: {revalidation or 'none'}; partitions over {limit:g}%: "
            f"{', '.join(over) or 'none'}; {WHAT_TO_DO}"
        ),
        metadata={
            "rows": dg.MetadataValue.int(rows),
            "quarantined": dg.MetadataValue.int(quarantined),
            "pct": dg.MetadataValue.float(round(pct_total, 3)),
            "max_partition_pct": dg.MetadataValue.float(round(worst, 3)),
            "quarantine_block_pct": dg.MetadataValue.float(limit),
            "failing_expectations": dg.MetadataValue.json(failing),
            "raw_rows_failing_revalidation": dg.MetadataValue.json(revalidation),
        },
    )
    return check, blocked


class _Progress:
    """Log partitions as they finish: each one in small runs, every ~10 % in large ones (each
    log line is a Dagster event written to the instance, ~10-50 ms on SQLite); a partition with a
    rejected file is always logged, as a warning."""

    def __init__(self, context: dg.AssetExecutionContext, ent: Entity, total: int):
        self.context, self.ent, self.total = context, ent, total
        self.every = 1 if total <= LOG_EVERY_PARTITION_UP_TO else max(1, total // 10)
        self.done = self.rows_in = self.loaded = self.quarantined = 0
        self._lock = threading.Lock()

    def __call__(self, r: PartitionResult) -> None:
        with self._lock:
            self.done += 1
            self.rows_in += r.rows_in
            self.loaded += r.rows_loaded
            self.quarantined += r.rows_quarantined
            done, rows_in, loaded, quarantined = self.done, self.rows_in, self.loaded, self.quarantined
        log = self.context.log
        line = (
            f"{self.ent.asset_name} {r.extract_date}: {len(r.files)} files ({r.files_rejected} rejected), "
            f"{r.rows_in} rows in, {r.rows_loaded} loaded, {r.rows_quarantined} quarantined"
        )
        if r.files_rejected:
            log.warning(line)
        elif self.every == 1:
            log.info(line)
        if self.every > 1 and (done % self.every == 0 or done == self.total):
            log.info(
                f"{self.ent.asset_name}: {done}/{self.total} extract dates done; {rows_in} rows in, "
                f"{loaded} loaded, {quarantined} quarantined so far"
            )


def _ingest_one(sessions: Sessions, paths, ent: Entity, d: str, progress: _Progress) -> PartitionResult:
    con = sessions.get()
    try:
        r = ingest_partition(paths, ent, d, con=con, schemas=False)
    except BaseException:
        sessions.discard(con)
        raise
    progress(r)
    return r


def ingest_dates(context: dg.AssetExecutionContext, ent: Entity, dates: list[str]) -> list[PartitionResult]:
    """Ingest the extract dates of one entity: survey entities in date order with one GX
    validation over all the dates, the others on INGEST_THREADS threads."""
    from orchestration.lib.ingest.survey_expectations import batch_validator_for

    paths = current()
    progress = _Progress(context, ent, len(dates))
    with Sessions() as sessions:
        con = sessions.get()
        ensure_schemas(con, paths, (ent,))
        validator = batch_validator_for(ent, paths)
        if validator is not None or len(dates) < 2:
            # date order: a survey's declared scale is checked against its earlier extracts, and
            # great-expectations' context is not shared across threads
            return ingest_partitions(paths, ent, dates, validator, con=con, schemas=False, on_result=progress)
    # partitions of one entity are independent, and DuckDB releases the GIL: on a backfill of
    # many extract dates two threads keep both cores busy. Each thread's session then runs one
    # DuckDB worker: with one per core in each, the four contended for two cores (a year of the
    # events feed or of activities: ~5 % more wall and CPU time, measured at preset M)
    with Sessions(threads=1) as sessions, ThreadPoolExecutor(max_workers=INGEST_THREADS) as pool:
        return list(pool.map(lambda d: _ingest_one(sessions, paths, ent, d, progress), dates))


def build_ingest_asset(ent: Entity) -> dg.AssetsDefinition:
    """The partitioned ingest asset of one contract entity."""
    key = asset_key(ent)
    is_responses = (ent.source, ent.name) == RESPONSES
    check_specs = [
        dg.AssetCheckSpec(
            REJECTED_CHECK,
            asset=key,
            description="No landing file of the run's extract dates was rejected whole (WARN).",
        ),
        dg.AssetCheckSpec(
            FRESH_CHECK,
            asset=key,
            description="The feed keeps arriving: newest extract within freshness_max_lag_days (WARN).",
        ),
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=key,
            blocking=True,
            description=(
                "Blocking: no extract's invalid rows exceed quarantine_block_pct of its rows (exact "
                "duplicate rows are quarantined but not counted as invalid)."
            ),
        ),
    ]
    if is_responses:
        check_specs.append(
            dg.AssetCheckSpec(
                SCALE_CHECK,
                asset=key,
                blocking=True,
                description=(
                    "Blocking: no loaded response fails the great-expectations survey suite and no "
                    "extract quarantined more than quarantine_block_pct of its rows."
                ),
            )
        )

    @dg.asset(
        key=key,
        group_name="raw",
        owners=OWNERS,
        kinds=KINDS,
        description=describe(ent),
        partitions_def=extract_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),  # transient IO; re-runs are idempotent
        deps=[SURVEYS_KEY] if is_responses else None,
        check_specs=check_specs,
        metadata={"contract_kind": ent.kind, "contract_key": ent.key},
    )
    def _ingest(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        results = ingest_dates(context, ent, sorted(context.partition_keys))
        metadata: dict[str, dg.MetadataValue] = {
            "rows_in": dg.MetadataValue.int(sum(r.rows_in for r in results)),
            "rows_loaded": dg.MetadataValue.int(sum(r.rows_loaded for r in results)),
            "rows_quarantined": dg.MetadataValue.int(sum(r.rows_quarantined for r in results)),
            "files": dg.MetadataValue.int(sum(len(r.files) for r in results)),
            "files_rejected": dg.MetadataValue.int(sum(r.files_rejected for r in results)),
            "extract_dates": dg.MetadataValue.int(len(results)),
            "by_extract_date": dg.MetadataValue.md(_partition_table(results)),
        }
        # the files no partition reads, logged as rejected (cheap when nothing changed)
        elsewhere = [u for u in unplaced.refresh(current()) if (u.source, u.entity) == (ent.source, ent.name)]
        share, blocked = _quarantine_check(results)
        checks = [_rejected_check(results, elsewhere), _fresh_check(ent), share]
        if is_responses:
            scale, blocked_scale = _scale_check(results)
            checks.append(scale)
            blocked = sorted(set(blocked) | set(blocked_scale))
        for d in blocked:
            # a blocked extract counts as not ingested: every run ingests it again, and fails
            # its check again, until a corrected file is re-sent (landing_state)
            landing_state.forget(current(), ent, d)
        return dg.MaterializeResult(metadata=metadata, check_results=checks)

    return _ingest


ingest_assets: list[dg.AssetsDefinition] = [build_ingest_asset(e) for e in ENTITIES]
