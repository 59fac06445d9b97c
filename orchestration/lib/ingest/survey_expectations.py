"""great-expectations suite for survey scale consistency (docs/contract.md, "survey").

A score outside its survey's declared scale, a non-integer NPS, a survey whose declared scale
changes between extracts, or a response to an unknown survey is a scale-consistency failure.
GX 1.x has no tested DuckDB backend, so each survey batch (small) is validated in pandas; the
events-sized checks stay in SQL. Failing rows are quarantined by ingestion with the expectation
that failed in the reason.

GX runs in an ephemeral context (nothing written to disk, analytics off), created once per
process; a suite is built once per batch, never per row. GX is imported lazily because importing
it costs seconds and most ingest partitions never need it.

A validation costs about a second whatever the batch size, so ingestion validates all the extract
dates of a run in ONE batch (`responses_batch_validator`, `surveys_batch_validator`): every
expectation is per row, and what differs between dates (the surveys known as of the date, the
first declaration of a survey) is made a column or a row condition of that one batch. The
per-date validators (`validator_for`) give the same failures one extract date at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.lib.core import contract
from orchestration.lib.core.contract import Entity
from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest.discover import is_extract_date
from orchestration.lib.ingest.sql import lit

SCALE_FIELDS = ("scale_min", "scale_max", "higher_is_better", "metric")
INTEGER_METRICS = ("nps", "acsi")  # scales answered in whole points only
ROW_ID = "_gx_row"
FAILURE_COLUMNS = ["_gx_row", "expectation", "reason"]

Reason = Callable[[pd.Series], str]


@dataclass
class _Check:
    expectation: Any  # a gx Expectation
    reason: Reason  # failing row -> reason (without the "gx <expectation>: " prefix)


@lru_cache(maxsize=1)
def _batch_definition() -> Any:
    """One ephemeral context with one pandas dataframe asset, reused for every batch."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("chw_ingest").add_dataframe_asset("survey_batch")
    return asset.add_batch_definition_whole_dataframe("whole_batch")


def run_checks(df: pd.DataFrame, checks: list[_Check], suite_name: str) -> pd.DataFrame:
    """Validate `df` (which must hold a unique `_gx_row` column) against `checks` in one GX
    suite; return one failure row per (row, failed expectation)."""
    if df.empty or not checks:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    import great_expectations as gx

    batch_definition = _batch_definition()  # creates the context, which the suite needs
    suite = gx.ExpectationSuite(name=suite_name)
    for i, check in enumerate(checks):
        check.expectation.meta = {"chw_check": i}
        suite.add_expectation(check.expectation)
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_ID]}
    )
    by_row = df.set_index(ROW_ID, drop=False)
    out: list[tuple[int, str, str]] = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"GX expectation {cfg.type} failed to run: {r.exception_info}")
        check = checks[cfg.meta["chw_check"]]
        for item in r.result.get("unexpected_index_list") or []:
            row_id = item[ROW_ID] if isinstance(item, dict) else item
            row = by_row.loc[row_id]
            out.append((int(row_id), cfg.type, f"gx {cfg.type}: {check.reason(row)}"))
    return pd.DataFrame(out, columns=FAILURE_COLUMNS).sort_values([ROW_ID, "expectation"], kind="stable")


def _num(v: Any) -> str:
    try:
        return f"{float(v):g}"
    except (TypeError, ValueError):
        return repr(v)


def response_checks(surveys: pd.DataFrame, as_of: str) -> list[_Check]:
    """Expectations for a responses batch, given the surveys known as of its extract date
    (one row per survey_id: survey_id, metric, scale_min, scale_max, ...)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    known = sorted(surveys["survey_id"].astype(str)) if not surveys.empty else []
    checks = [
        _Check(
            gxe.ExpectColumnValuesToBeInSet(column="survey_id", value_set=known),
            lambda row: f"survey_id {row['survey_id']!r} is not a known survey as of extract {as_of}",
        )
    ]
    return checks + _score_checks(surveys, lambda sid: Column("survey_id") == sid)


def _score_checks(surveys: pd.DataFrame, rows_of: Callable[[str], Any]) -> list[_Check]:
    """Per survey: scores within its declared scale, and integers for NPS. `rows_of(survey_id)`
    is the row condition selecting that survey's responses (the per-date and the batch suites
    differ only there)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    checks = []
    for s in surveys.sort_values("survey_id").itertuples(index=False):
        sid, lo, hi, label = str(s.survey_id), int(s.scale_min), int(s.scale_max), str(s.metric).upper()
        this = rows_of(sid)
        checks.append(
            _Check(
                gxe.ExpectColumnValuesToBeBetween(column="score", min_value=lo, max_value=hi, row_condition=this),
                lambda row, sid=sid, lo=lo, hi=hi: f"score {_num(row['score'])} outside {lo}-{hi} of survey {sid}",
            )
        )
        if str(s.metric) in INTEGER_METRICS:
            # integers only; restricted to in-range scores so that 11 is reported once (above)
            in_range = this & (Column("score") >= lo) & (Column("score") <= hi)
            checks.append(
                _Check(
                    gxe.ExpectColumnValuesToBeInSet(
                        column="score", value_set=[float(v) for v in range(lo, hi + 1)], row_condition=in_range
                    ),
                    lambda row, sid=sid, m=label: (
                        f"score {_num(row['score'])} is not an integer of {m} survey {sid}"
                    ),
                )
            )
    return checks


def validate_responses(df: pd.DataFrame, surveys: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """GX-validate a responses batch (needs `_gx_row`, survey_id, score)."""
    return run_checks(df, response_checks(surveys, as_of), f"survey_responses_{as_of}")


def survey_checks(first_dates: dict[str, str]) -> list[_Check]:
    """Expectations for a surveys batch merged with each survey's first declaration
    (`first_<field>` columns, `_declared_before` flag): the declared scale never changes."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    checks = _acsi_checks()
    for f in SCALE_FIELDS:
        checks.append(
            _Check(
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A=f,
                    column_B=f"first_{f}",
                    ignore_row_if="both_values_are_missing",
                    row_condition=Column("_declared_before") == True,  # noqa: E712 (a GX condition)
                ),
                lambda row, f=f: (
                    f"{f} of survey {row['survey_id']} changed from {_show(row['first_' + f])} to "
                    f"{_show(row[f])} (first declared in extract {first_dates.get(str(row['survey_id']), '?')}; "
                    "the first declaration stays in force)"
                ),
            )
        )
    return checks


def _acsi_checks() -> list[_Check]:
    """An `acsi` survey is one item of the satisfaction index: it names its item (index_item;
    a value outside the item list is already quarantined as a contract enumeration) and is
    declared on 1-10. Anything else cannot be combined into the index."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    lo, hi = contract.ACSI_SCALE
    acsi = Column("metric") == "acsi"
    items = ", ".join(contract.ACSI_ITEMS)
    return [
        _Check(
            gxe.ExpectColumnValuesToNotBeNull(column="index_item", row_condition=acsi),
            lambda row: f"acsi survey {row['survey_id']} has no index_item ({items})",
        ),
        _Check(
            gxe.ExpectColumnValuesToBeInSet(column="scale_min", value_set=[lo], row_condition=acsi),
            lambda row: (
                f"acsi survey {row['survey_id']} is declared on {_show(row['scale_min'])}-{_show(row['scale_max'])}, "
                f"not {lo}-{hi}"
            ),
        ),
        _Check(
            gxe.ExpectColumnValuesToBeInSet(column="scale_max", value_set=[hi], row_condition=acsi),
            lambda row: (
                f"acsi survey {row['survey_id']} is declared on {_show(row['scale_min'])}-{_show(row['scale_max'])}, "
                f"not {lo}-{hi}"
            ),
        ),
    ]


def _with_index_item(df: pd.DataFrame) -> pd.DataFrame:
    """index_item is an optional contract column (ingestion always supplies it, empty where a file
    leaves it out); a frame handed in without it has none."""
    return df if "index_item" in df.columns else df.assign(index_item=None)


def _show(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "empty"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def validate_surveys(df: pd.DataFrame, first: pd.DataFrame) -> pd.DataFrame:
    """GX-validate a surveys batch against the first declarations `first` (columns survey_id,
    SCALE_FIELDS, first_extract_date; may be empty)."""
    if df.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    firsts = first.rename(columns={f: f"first_{f}" for f in SCALE_FIELDS})
    keep = ["survey_id", *[f"first_{f}" for f in SCALE_FIELDS]]
    merged = df.merge(firsts[keep] if not first.empty else pd.DataFrame(columns=keep), on="survey_id", how="left")
    merged["_declared_before"] = merged["survey_id"].isin(set(first["survey_id"])) if not first.empty else False
    for f in SCALE_FIELDS:  # compare like with like: plain objects, NaN for missing
        merged[f] = merged[f].astype(object).where(merged[f].notna(), None)
        merged[f"first_{f}"] = merged[f"first_{f}"].astype(object).where(merged[f"first_{f}"].notna(), None)
    dates = dict(zip(first["survey_id"], first["first_extract_date"], strict=True)) if not first.empty else {}
    return run_checks(_with_index_item(merged), survey_checks(dates), "surveys_scale")


# --- reading what is known from raw ---------------------------------------------------------


def _survey_partitions(
    paths: Paths, upto: str | None, inclusive: bool, exclude: Collection[str] = ()
) -> list[Path]:
    """Raw survey/surveys partition files before `upto` (None: all), without the `exclude` dates."""
    base = paths.raw / "survey" / "surveys"
    if not base.is_dir():
        return []
    out = []
    for d in sorted(base.iterdir()):
        date = d.name.removeprefix("extract_date=")
        if not (d.name.startswith("extract_date=") and is_extract_date(date)) or date in exclude:
            continue
        if upto is None or date < upto or (inclusive and date == upto):
            if (d / "part.parquet").exists():
                out.append(d / "part.parquet")
    return out


def first_declarations(
    paths: Paths, upto: str | None, inclusive: bool, exclude: Collection[str] = ()
) -> pd.DataFrame:
    """Each survey's first declaration in raw survey/surveys partitions before `upto` (or up to
    and including it): survey_id, metric, scale_min, scale_max, higher_is_better,
    first_extract_date. Later raw rows of a survey never differ from it (a change is
    quarantined), so this is also "the surveys known as of" the date. `upto=None`: every raw
    partition; `exclude`: extract dates to leave out (those being re-ingested)."""
    files = _survey_partitions(paths, upto, inclusive, exclude)
    cols = ["survey_id", *SCALE_FIELDS, "first_extract_date"]
    if not files:
        return pd.DataFrame(columns=cols)
    file_list = "[" + ", ".join(lit(str(f)) for f in files) + "]"
    with duckdb.connect() as con:
        return con.execute(
            f"""
            SELECT survey_id, metric, scale_min, scale_max, higher_is_better,
                   strftime(_extract_date, '%Y-%m-%d') AS first_extract_date
            FROM (
                SELECT *, row_number() OVER (PARTITION BY survey_id ORDER BY _extract_date, _row_number) AS rk
                FROM read_parquet({file_list}, union_by_name = true, hive_partitioning = false)
            ) WHERE rk = 1 ORDER BY survey_id
            """
        ).df()


def _with_row_ids(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out[ROW_ID] = range(len(out))
    return out


def _to_ingest_failures(df: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    ids = df[[ROW_ID, "_file_idx", "_row_number"]]
    merged = failures.merge(ids, on=ROW_ID, how="left")
    return merged[["_file_idx", "_row_number", "expectation", "reason"]]


def responses_validator(paths: Paths, extract_date: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Ingest validator for survey/responses of one extract date."""

    def validate(df: pd.DataFrame) -> pd.DataFrame:
        batch = _with_row_ids(df)
        surveys = first_declarations(paths, extract_date, inclusive=True)
        return _to_ingest_failures(batch, validate_responses(batch, surveys, extract_date))

    return validate


def surveys_validator(paths: Paths, extract_date: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Ingest validator for survey/surveys of one extract date."""

    def validate(df: pd.DataFrame) -> pd.DataFrame:
        batch = _with_row_ids(df)
        first = first_declarations(paths, extract_date, inclusive=False)
        return _to_ingest_failures(batch, validate_surveys(batch, first))

    return validate


def validator_for(ent: Entity, paths: Paths, extract_date: str) -> Callable[[pd.DataFrame], pd.DataFrame] | None:
    """The GX validator an entity's ingestion runs, if any."""
    if ent.source != "survey":
        return None
    if ent.name == "responses":
        return responses_validator(paths, extract_date)
    if ent.name == "surveys":
        return surveys_validator(paths, extract_date)
    return None


def revalidate_raw_responses(paths: Paths, extract_date: str) -> pd.DataFrame:
    """Re-run the responses suite on what raw holds for `extract_date` (the blocking asset
    check: loaded rows must validate clean). Returns failures (_gx_row, expectation, reason)."""
    part = paths.raw / "survey" / "responses" / f"extract_date={extract_date}" / "part.parquet"
    if not part.exists():
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    with duckdb.connect() as con:
        df = con.execute(f"SELECT * FROM read_parquet({lit(str(part))}, hive_partitioning = false)").df()
    surveys = first_declarations(paths, extract_date, inclusive=True)
    return validate_responses(_with_row_ids(df), surveys, extract_date)


# --- one validation over every extract date of a run ------------------------------------------


def _date_ordinal(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates.astype(str), format="%Y-%m-%d").map(lambda t: t.toordinal()).astype("int64")


def response_batch_checks(surveys: pd.DataFrame) -> list[_Check]:
    """Expectations for responses of many extract dates (`_extract_date`, `_as_of` = its ordinal),
    given each survey's first declaration (survey_id, metric, scale_min, scale_max,
    first_extract_date): a survey is known from its first extract date on. Same failures, same
    reasons as `response_checks` applied date by date."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    firsts: dict[str, int] = {}
    if not surveys.empty:
        ords = _date_ordinal(surveys["first_extract_date"])
        firsts = dict(zip(surveys["survey_id"].astype(str), ords, strict=True))
    bounds = sorted(set(firsts.values()))
    edges: list[int | None] = [None, *bounds, None]
    checks = []
    # the known set changes only at first declarations: one expectation per stretch between them
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        known = sorted(sid for sid, f in firsts.items() if lo is not None and f <= lo)
        conds = ([Column("_as_of") >= lo] if lo is not None else []) + ([Column("_as_of") < hi] if hi is not None else [])
        cond = None
        for c in conds:
            cond = c if cond is None else cond & c
        kwargs = {"row_condition": cond} if cond is not None else {}
        checks.append(
            _Check(
                gxe.ExpectColumnValuesToBeInSet(column="survey_id", value_set=known, **kwargs),
                lambda row: (
                    f"survey_id {row['survey_id']!r} is not a known survey as of extract {row['_extract_date']}"
                ),
            )
        )
    # a survey's scale applies from its first extract date on
    return checks + _score_checks(surveys, lambda sid: (Column("survey_id") == sid) & (Column("_as_of") >= firsts[sid]))


def validate_responses_batch(df: pd.DataFrame, surveys: pd.DataFrame) -> pd.DataFrame:
    """GX-validate responses of many extract dates (needs `_gx_row`, `_extract_date`, survey_id,
    score) against the surveys' first declarations, in one validation."""
    batch = df.assign(_as_of=_date_ordinal(df["_extract_date"])) if not df.empty else df
    return run_checks(batch, response_batch_checks(surveys), "survey_responses_batch")


def _batch_first_declarations(paths: Paths, df: pd.DataFrame, dates: Collection[str], key: str) -> pd.DataFrame:
    """Each survey's first declaration as ingesting `dates` in order will leave it in raw: the
    earliest of (a) raw partitions of other dates and (b) for the earliest date among `dates` that
    has good rows of the survey, the row deduplication keeps there (no row of that date can fail
    the scale check: nothing is declared before it)."""
    cols = ["survey_id", *SCALE_FIELDS, "first_extract_date"]
    raw = first_declarations(paths, None, inclusive=True, exclude=set(dates))
    if df.empty:
        return raw
    order = (["updated_at"] if "updated_at" in df.columns else []) + ["_file_idx", "_row_number"]
    earliest = df[df["_extract_date"] == df.groupby(key)["_extract_date"].transform("min")]
    # the winner of a duplicate key: greatest updated_at (nulls last), then the last file and row
    ranked = earliest.sort_values(order, ascending=False, na_position="last", kind="stable")
    new = ranked.drop_duplicates(key, keep="first").rename(columns={"_extract_date": "first_extract_date"})[cols]
    both = pd.concat([raw[cols], new], ignore_index=True) if not raw.empty else new
    both = both.sort_values(["survey_id", "first_extract_date"], kind="stable")
    return both.drop_duplicates("survey_id", keep="first").reset_index(drop=True)


def validate_surveys_batch(df: pd.DataFrame, first: pd.DataFrame) -> pd.DataFrame:
    """GX-validate survey rows of many extract dates (`_extract_date`) against the first
    declarations `first`: a row is compared when its survey was declared before its extract."""
    if df.empty:
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    firsts = first.rename(columns={f: f"first_{f}" for f in SCALE_FIELDS})
    keep = ["survey_id", *[f"first_{f}" for f in SCALE_FIELDS], "first_extract_date"]
    merged = df.merge(firsts[keep] if not first.empty else pd.DataFrame(columns=keep), on="survey_id", how="left")
    merged["_declared_before"] = (merged["first_extract_date"].notna()) & (
        merged["first_extract_date"].astype(object).fillna("") < merged["_extract_date"].astype(str)
    )
    merged = merged.drop(columns=["first_extract_date"])
    for f in SCALE_FIELDS:  # compare like with like: plain objects, NaN for missing
        merged[f] = merged[f].astype(object).where(merged[f].notna(), None)
        merged[f"first_{f}"] = merged[f"first_{f}"].astype(object).where(merged[f"first_{f}"].notna(), None)
    dates = dict(zip(first["survey_id"], first["first_extract_date"], strict=True)) if not first.empty else {}
    return run_checks(_with_index_item(merged), survey_checks(dates), "surveys_scale_batch")


def _to_batch_failures(df: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    ids = df[[ROW_ID, "_extract_date", "_file_idx", "_row_number"]]
    merged = failures.merge(ids, on=ROW_ID, how="left")
    return merged[["_extract_date", "_file_idx", "_row_number", "expectation", "reason"]]


def responses_batch_validator(paths: Paths) -> Callable[[pd.DataFrame, list[str]], pd.DataFrame]:
    """Ingest batch validator for survey/responses of many extract dates (run after the surveys of
    those dates are in raw, as the asset dependency orders it)."""

    def validate(df: pd.DataFrame, dates: list[str]) -> pd.DataFrame:
        batch = _with_row_ids(df)
        surveys = first_declarations(paths, None, inclusive=True)
        return _to_batch_failures(batch, validate_responses_batch(batch, surveys))

    return validate


def surveys_batch_validator(paths: Paths) -> Callable[[pd.DataFrame, list[str]], pd.DataFrame]:
    """Ingest batch validator for survey/surveys of many extract dates."""

    def validate(df: pd.DataFrame, dates: list[str]) -> pd.DataFrame:
        batch = _with_row_ids(df)
        first = _batch_first_declarations(paths, batch, dates, "survey_id")
        return _to_batch_failures(batch, validate_surveys_batch(batch, first))

    return validate


def batch_validator_for(ent: Entity, paths: Paths) -> Callable[[pd.DataFrame, list[str]], pd.DataFrame] | None:
    """The GX batch validator an entity's ingestion runs over all its extract dates, if any."""
    if (ent.source, ent.name) == ("survey", "responses"):
        return responses_batch_validator(paths)
    if (ent.source, ent.name) == ("survey", "surveys"):
        return surveys_batch_validator(paths)
    return None
