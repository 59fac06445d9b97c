"""Find what arrived in the landing zone -- and account for everything else in it.

The landing zone is `<landing>/<source>/<entity>/<extract_date>/<any-name>.(csv|jsonl|parquet)`,
CSV and JSONL optionally gzip-compressed (`.csv.gz`, `.jsonl.gz`) (docs/contract.md). Discovery is
strict about what it returns (sorted, real dates), so that partitions and file order -- which
decide "the last record wins" -- are deterministic, and it skips nothing silently:

- every file of an extract-date folder belongs to that partition, whatever its name: one of an
  unsupported type (`.xlsx`, `.json`, `_SUCCESS`) or in a subfolder is rejected by the partition
  with the reason (`read.read_file`), so it appears in the partition's load log;
- every other file (a folder that is not a `YYYY-MM-DD` date such as `latest` or `20261021`, an
  extract date after the run's date, a file beside the date folders, a source or entity the
  contract does not name) is "unplaced": `unplaced_files` lists it with the reason and
  `unplaced.refresh` logs it as rejected.

An extract date later than the run's date plus a day (`latest_extract_date`) is not an extract
yet: a mis-dated folder (`2099-12-31`) would otherwise become every current-state mart's "today".
The run's date is the wall clock's UTC date, or `CHW_RUN_DATE` (YYYY-MM-DD) where a run must
see the landing zone as of another day (tests, a replay).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from orchestration.lib.core.contract import ENTITIES, Entity

#: file name ending (lower-case) -> reader format; longest endings first, so `.csv.gz` wins over `.gz`
FORMATS: dict[str, str] = {
    ".csv.gz": "csv",
    ".jsonl.gz": "jsonl",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
}
SUPPORTED = ", ".join(sorted(FORMATS, key=lambda s: (s.endswith(".gz"), s)))
RUN_DATE_ENV = "CHW_RUN_DATE"
#: an extract may be dated the day after the run's date (an extract tool ahead in its time zone)
FUTURE_GRACE_DAYS = 1
#: load_log.extract_date of a file that has no extract date (its folder is not a date, or it is
#: not in an extract-date folder at all): the epoch, which no extract carries
NO_EXTRACT_DATE = "1970-01-01"


def is_extract_date(name: str) -> bool:
    """True for a real calendar date written exactly `YYYY-MM-DD` (a folder like `2024-13-01`,
    `20241021` or `latest` is not an extract date)."""
    if len(name) != 10:
        return False
    try:
        return dt.date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def run_date() -> dt.date:
    """The run's date: `CHW_RUN_DATE` if set, else today in UTC."""
    value = os.environ.get(RUN_DATE_ENV, "").strip()
    if value:
        return dt.date.fromisoformat(value)
    return dt.datetime.now(dt.UTC).date()


def latest_extract_date() -> str:
    """The latest extract date a run accepts: the run's date plus FUTURE_GRACE_DAYS."""
    return (run_date() + dt.timedelta(days=FUTURE_GRACE_DAYS)).isoformat()


def is_accepted_extract_date(name: str, latest: str | None = None) -> bool:
    """An extract date (`is_extract_date`) not after `latest` (default: `latest_extract_date()`)."""
    return is_extract_date(name) and name <= (latest or latest_extract_date())


def file_format(path: Path) -> str | None:
    """The reader format of a landing file by its name's ending, or None for a type ingestion
    cannot read (such a file is rejected with the reason, never skipped)."""
    name = path.name.lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def type_of(path: Path) -> str:
    """The file type named in a rejection: its last suffix, or its name when it has none."""
    return path.suffix.lower() or path.name


def _files_under(folder: Path) -> list[Path]:
    """Every regular file under `folder`, at any depth, sorted by path relative to it."""
    out: list[Path] = []
    for p in folder.iterdir():
        if p.is_dir():
            out += _files_under(p)
        elif p.is_file():
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(folder).as_posix())


def partition_files(landing: Path, source: str, entity: str, extract_date: str) -> list[Path]:
    """Every file of one (source, entity, extract_date), sorted by path within the folder (for
    the usual flat folder: by name). Sorting fixes the order in which "the last record" of an
    extract is decided when no `updated_at` breaks a tie between duplicate keys. Files the
    partition cannot load (unsupported type, in a subfolder) are listed too: it rejects them."""
    folder = Path(landing) / source / entity / extract_date
    if not folder.is_dir():
        return []
    return _files_under(folder)


def is_nested(path: Path) -> bool:
    """A partition file below a subfolder of its extract-date folder (not at the contract's place)."""
    return not is_extract_date(path.parent.name)


def _has_file(folder: Path) -> bool:
    return any(p.is_file() or (p.is_dir() and _has_file(p)) for p in folder.iterdir())


def entity_extract_dates(landing: Path, ent: Entity, latest: str | None = None) -> list[str]:
    """Accepted extract dates (sorted) for which one entity has at least one landing file."""
    folder = Path(landing) / ent.source / ent.name
    if not folder.is_dir():
        return []
    latest = latest or latest_extract_date()
    return sorted(
        d.name for d in folder.iterdir() if d.is_dir() and is_accepted_extract_date(d.name, latest) and _has_file(d)
    )


def newest_extract_date(landing: Path, ent: Entity) -> str | None:
    """The newest accepted extract date with at least one landing file of `ent` (None: none),
    looking at the newest folders first rather than listing every folder's files."""
    folder = Path(landing) / ent.source / ent.name
    if not folder.is_dir():
        return None
    latest = latest_extract_date()
    names = (d.name for d in folder.iterdir() if d.is_dir() and is_accepted_extract_date(d.name, latest))
    for d in sorted(names, reverse=True):
        if _has_file(folder / d):
            return d
    return None


def discover_extract_dates(landing: Path, entities: tuple[Entity, ...] = ENTITIES) -> list[str]:
    """Every accepted extract date present for any contract entity, sorted ascending.

    These are the partition keys of the ingest assets. Files elsewhere (folders of sources or
    entities the contract does not name, folders that are not accepted dates) would produce
    partitions nothing can read: they are `unplaced_files`, logged as rejected.
    """
    latest = latest_extract_date()
    dates: set[str] = set()
    for ent in entities:
        dates.update(entity_extract_dates(landing, ent, latest))
    return sorted(dates)


@dataclass(frozen=True)
class Unplaced:
    """A landing file outside every accepted `<source>/<entity>/<date>/` folder, and why."""

    source: str  # the path's first folder ('' for a file at the landing zone's top)
    entity: str  # its second folder ('' when there is none)
    extract_date: str  # the folder's date where it is one (a future extract), else NO_EXTRACT_DATE
    path: Path
    reason: str


def unplaced_files(landing: Path, entities: tuple[Entity, ...] = ENTITIES) -> list[Unplaced]:
    """Every landing file no partition reads, with the reason, sorted by path. Lists only the
    folders of the landing zone, not the files of its accepted extract-date folders."""
    landing = Path(landing)
    if not landing.is_dir():
        return []
    latest = latest_extract_date()
    known = {(e.source, e.name) for e in entities}
    sources = {e.source for e in entities}
    layout = "<source>/<entity>/<YYYY-MM-DD>/<file>"
    out: list[Unplaced] = []

    def add_all(folder: Path, source: str, entity: str, date: str, why: str) -> None:
        for f in _files_under(folder):
            out.append(Unplaced(source, entity, date, f, why))

    for top in landing.iterdir():
        if top.is_file():
            out.append(Unplaced("", "", NO_EXTRACT_DATE, top, f"file is not in a {layout} folder"))
        elif top.name not in sources:
            why = f"unknown source folder '{top.name}' (not in docs/contract.md)"
            out += [Unplaced(top.name, _second(top, f), NO_EXTRACT_DATE, f, why) for f in _files_under(top)]
        else:
            for second in top.iterdir():
                if second.is_file():
                    out.append(Unplaced(top.name, "", NO_EXTRACT_DATE, second, f"file is not in a {layout} folder"))
                elif (top.name, second.name) not in known:
                    why = f"unknown entity '{top.name}/{second.name}' (not in docs/contract.md)"
                    add_all(second, top.name, second.name, NO_EXTRACT_DATE, why)
                else:
                    for third in second.iterdir():
                        if third.is_file():
                            why = f"file is not in an extract-date folder ({layout})"
                            out.append(Unplaced(top.name, second.name, NO_EXTRACT_DATE, third, why))
                        elif not is_extract_date(third.name):
                            why = f"folder '{third.name}' is not an extract date (YYYY-MM-DD)"
                            add_all(third, top.name, second.name, NO_EXTRACT_DATE, why)
                        elif third.name > latest:
                            why = (
                                f"extract date {third.name} is after the run's date {run_date().isoformat()} "
                                f"(at most {FUTURE_GRACE_DAYS} day later is accepted): not loaded"
                            )
                            add_all(third, top.name, second.name, third.name, why)
    return sorted(out, key=lambda u: u.path.as_posix())


def _second(source_folder: Path, path: Path) -> str:
    """The entity part of a path under an unknown source: its folder below the source, if any."""
    parts = path.relative_to(source_folder).parts
    return parts[0] if len(parts) > 1 else ""
