"""Where things live. The two variables of the contract, and what follows from them.

`CHW_LANDING_DIR` names the landing zone and `CHW_WAREHOUSE` the DuckDB file. Everything the
pipeline writes besides the warehouse (raw Parquet, quarantine files, model outputs, the outbox,
the serving copy) sits in `CHW_DATA_DIR`, by default the warehouse's folder. Paths are always
absolute: dbt-duckdb resolves relative paths from whichever process queries a view.

`CHW_ENGINE` picks the engine dbt builds the warehouse with: `duckdb` (the default: the file
`CHW_WAREHOUSE`) or `spark` (Parquet tables and a Derby metastore under `CHW_SPARK_DIR`, by
default `<data dir>/spark`). It is read here and nowhere else; the engine's name is also the
dbt target's name (dbt_project/profiles.yml).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


DUCKDB = "duckdb"
SPARK = "spark"
ENGINES = (DUCKDB, SPARK)


class UnknownEngine(SystemExit):
    """CHW_ENGINE names no engine this project builds with."""


def check_engine(value: str | None) -> str:
    """The engine `value` names (None or empty: DuckDB, the default); refused when unknown."""
    name = (value or DUCKDB).strip().lower()
    if name not in ENGINES:
        raise UnknownEngine(
            f"CHW_ENGINE={value!r}: the engine must be one of {', '.join(ENGINES)} "
            f"(default {DUCKDB}; {SPARK} needs `make setup WITH_SPARK=1`)"
        )
    return name


@dataclass(frozen=True)
class Paths:
    landing: Path
    warehouse: Path
    data: Path
    engine: str = DUCKDB
    spark_dir: Path | None = None  # None: <data>/spark

    @property
    def spark(self) -> Path:
        """The Spark engine's folder: `warehouse/<schema>.db/<table>/` (Parquet) and `metastore_db`."""
        return self.spark_dir or self.data / "spark"

    @property
    def spark_warehouse(self) -> Path:
        return self.spark / "warehouse"

    @property
    def raw(self) -> Path:
        """Validated rows as Parquet: raw/<source>/<entity>/extract_date=<d>/part.parquet."""
        return self.data / "raw"

    @property
    def audit(self) -> Path:
        """Per-file load log and quarantine rows as Parquet, one file per entity and partition."""
        return self.data / "audit"

    @property
    def models(self) -> Path:
        """Outputs of Python model assets (fitted weights, themes) that dbt reads back."""
        return self.data / "models"

    @property
    def outbox(self) -> Path:
        return self.data / "outbox"

    @property
    def serving(self) -> Path:
        return self.data / "serving"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder (manifest, partial-parse cache, run results, docs) for this data
        dir: runs on different warehouses from one checkout never share or overwrite it."""
        return self.data / "dbt_target"

    @property
    def dbt_logs(self) -> Path:
        return self.data / "dbt_logs"

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt invocation: every path it reads, absolute."""
        return {
            "CHW_ENGINE": self.engine,
            "CHW_SPARK_DIR": str(self.spark),  # profiles.yml's spark target
            # Spark's logging, quiet (dbt_project/spark_conf/log4j2.properties says why)
            "SPARK_CONF_DIR": str(DBT_PROJECT_DIR / "spark_conf"),
            # the engine is the dbt target (profiles.yml names its outputs after the engines): every
            # dbt command (the manifest's parse, `cli dbt`, docs) then runs on the engine's target
            "DBT_TARGET": self.engine,
            "CHW_WAREHOUSE": str(self.warehouse),
            "CHW_RAW_DIR": str(self.raw),
            "CHW_AUDIT_DIR": str(self.audit),
            "CHW_MODELS_DIR": str(self.models),
            "DBT_TARGET_PATH": str(self.dbt_target),
            "DBT_LOG_PATH": str(self.dbt_logs),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            # No dbt.log by default: it held dbt's info lines, which dagster-dbt already reads from
            # dbt's output and Dagster keeps in the run's logs; writing them twice cost ~2 s of a
            # `tiny` run (at debug, dbt's default: 9 MB and ~5 s).
            # DBT_LOG_LEVEL_FILE=info or debug brings the file back.
            "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "none"),
        }


OWNER_FILE = ".chw_owner.json"


def data_dir_conflict(paths: Paths) -> str | None:
    """Why `paths.data` must not be used for this warehouse and landing zone, or None.

    raw/, audit/ and the run state go beside the warehouse by default, so two warehouses in one
    folder shared them: the second landing zone's ingest saw the first one's extract dates as
    withdrawn or unchanged, and its marts were built from a mixture (3 of 27 reference checks
    passed). The first run on a data directory records in it (`OWNER_FILE`) which warehouse and
    landing zone it belongs to; a run for another one is refused with what to do instead. A data
    directory without the file (new, or from before the file existed) is claimed as it is.

    The engine is recorded too: a DuckDB and a Spark run on one data directory would share the
    raw state and the model outputs while building two different warehouses (each run would take
    the other's ingested dates as done). A file from before the engine was recorded is DuckDB's.
    """
    owner = paths.data / OWNER_FILE
    mine = {"warehouse": str(paths.warehouse), "landing": str(paths.landing), "engine": paths.engine}
    try:
        recorded = json.loads(owner.read_text(encoding="utf-8"))
    except FileNotFoundError:
        recorded = None
    except ValueError:
        recorded = {}
    if recorded is None:
        paths.data.mkdir(parents=True, exist_ok=True)
        owner.write_text(json.dumps(mine, indent=1) + "\n", encoding="utf-8")
        return None
    if isinstance(recorded, dict) and recorded and "engine" not in recorded:
        recorded = {**recorded, "engine": DUCKDB}
    if recorded == mine:
        return None
    own = paths.warehouse.parent / f"{paths.warehouse.stem}_data"
    if isinstance(recorded, dict) and recorded.get("engine") not in (None, paths.engine):
        own = paths.data.parent / f"{paths.data.name}_{paths.engine}"
    return (
        f"data directory {paths.data} holds the raw, audit and run state of warehouse {recorded.get('warehouse')} "
        f"(landing zone {recorded.get('landing')}, engine {recorded.get('engine')}), as {owner} records; this run "
        f"is for warehouse {paths.warehouse} (landing zone {paths.landing}, engine {paths.engine}). Sharing one data "
        f"directory mixes their extracts and gives wrong marts. "
        f"Give this one its own: CHW_DATA_DIR={own} (or put the warehouse in a folder of its own). "
        f"If {paths.data} really is this warehouse's (the warehouse or landing zone moved), delete {owner} and run again."
    )


def _abs(value: str | os.PathLike) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else (Path.cwd() / p)).resolve()


def current() -> Paths:
    """Paths from the environment, defaults under the project's data/ folder."""
    landing = _abs(os.environ.get("CHW_LANDING_DIR") or PROJECT_ROOT / "data" / "landing")
    warehouse = _abs(os.environ.get("CHW_WAREHOUSE") or PROJECT_ROOT / "data" / "warehouse.duckdb")
    data = _abs(os.environ.get("CHW_DATA_DIR") or warehouse.parent)
    spark = os.environ.get("CHW_SPARK_DIR")
    return Paths(landing=landing, warehouse=warehouse, data=data, engine=check_engine(os.environ.get("CHW_ENGINE")),
                 spark_dir=_abs(spark) if spark else None)


def dbt_executable() -> str:
    """This environment's dbt, found beside its Python: nothing depends on the virtualenv being on
    PATH (a plain shell running `make run` or `make ui`, or a scheduler, does not activate it)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")
