"""What changed in the landing zone since it was ingested, so a run ingests what arrived
instead of the whole landing zone again.

Without this, `make run` (and every daily `cli run`) re-read, re-validated and re-wrote every
extract date ever landed: a cost that grows with history (2.5 minutes on the demo extracts, about
an hour at preset M) for a result that is byte for byte the same.

Each ingested partition leaves `audit/landing_state/<source>__<entity>/extract_date=<d>.json`:
the landing files it read (name, size, modification time in ns) and a digest of the code that
ingests them. A partition is *changed* when what is in the landing zone now differs from that
record: a new extract date, a re-sent or withdrawn file, a partition whose last ingest did not
finish (no record), or an ingest code change. The record is written after the partition's raw and
audit files, from a listing taken before its files were read, so a file that changes while it is
being read is ingested again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from orchestration.lib.core.contract import ENTITIES, Entity
from orchestration.lib.core.paths import Paths
from orchestration.lib.ingest.discover import is_extract_date, is_nested, partition_files

_PACKAGE = Path(__file__).resolve().parent
#: the code whose change can change what ingestion writes: a new version re-ingests everything.
#: This module is left out: it only decides *what* to ingest (its last change, the sensor's run
#: key, would otherwise have re-ingested a year of M extracts, 22 min, for no change in output);
#: so is feed_lag.py, which only reports which feeds stopped arriving.
_NOT_INGEST_CODE = {Path(__file__).name, "feed_lag.py"}
_INGEST_CODE = (
    *sorted(p for p in _PACKAGE.glob("*.py") if p.name not in _NOT_INGEST_CODE),
    _PACKAGE.parent / "core" / "contract.py",
)


@lru_cache(maxsize=1)
def ingest_code_digest() -> str:
    digest = hashlib.sha256()
    for file in _INGEST_CODE:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def snapshot(files: list[Path]) -> dict:
    """What a partition's landing files are now (taken before they are read)."""
    listed = []
    for f in files:
        st = f.stat()
        listed.append([_name(f), st.st_size, st.st_mtime_ns])
    return {"ingest_code": ingest_code_digest(), "files": listed}


def _name(f: Path) -> str:
    """A file's name within its extract-date folder (a path for one in a subfolder)."""
    if not is_nested(f):
        return f.name
    parts = f.parts
    k = max(i for i, part in enumerate(parts[:-1]) if is_extract_date(part))
    return "/".join(parts[k + 1 :])


def state_file(paths: Paths, ent: Entity, extract_date: str) -> Path:
    return paths.audit / "landing_state" / ent.asset_name / f"extract_date={extract_date}.json"


def record(paths: Paths, ent: Entity, extract_date: str, seen: dict) -> None:
    """Remember what a finished partition ingested (atomic: a temp file renamed over the record)."""
    dest = state_file(paths, ent, extract_date)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{id(seen)}.tmp")
    tmp.write_text(json.dumps(seen), encoding="utf-8")
    os.replace(tmp, dest)


def forget(paths: Paths, ent: Entity, extract_date: str) -> None:
    state_file(paths, ent, extract_date).unlink(missing_ok=True)


def _recorded(paths: Paths, ent: Entity, extract_date: str) -> dict | None:
    try:
        return json.loads(state_file(paths, ent, extract_date).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def partition_changed(paths: Paths, ent: Entity, extract_date: str) -> bool:
    files = partition_files(paths.landing, ent.source, ent.name, extract_date)
    seen = _recorded(paths, ent, extract_date)
    if not files:
        return seen is not None  # withdrawn since (its raw and audit files must go)
    return seen != snapshot(files)


def changed_extract_dates(paths: Paths, dates: list[str], entities: tuple[Entity, ...] = ENTITIES) -> list[str]:
    """The extract dates (sorted) where any entity's landing files differ from what was ingested."""
    return sorted(d for d in set(dates) if any(partition_changed(paths, e, d) for e in entities))


def recorded_extract_dates(paths: Paths) -> set[str]:
    """The extract dates some partition was ingested for (and not withdrawn since)."""
    root = paths.audit / "landing_state"
    return {f.stem.removeprefix("extract_date=") for f in root.glob("*/extract_date=*.json")}


def dates_to_ingest(paths: Paths, dates: list[str]) -> list[str]:
    """Every extract date from the earliest changed one to the last (sorted; [] when nothing changed).

    Not only the changed dates: ingestion runs in date order and an extract is validated against
    what came before it (a survey's declared scale against its earlier extracts), so a re-sent old
    date is followed by every later one, exactly as a run over the whole landing zone would do.
    A daily run, whose only change is the new date, ingests that date alone.

    `dates` are the landing zone's; the dates ingested before are added, so an extract-date
    folder deleted whole counts as withdrawn (its raw and audit files must go) like a deleted file.
    """
    dates = sorted(set(dates) | recorded_extract_dates(paths))
    changed = changed_extract_dates(paths, dates)
    return [d for d in dates if d >= changed[0]] if changed else []


def landing_digest(paths: Paths, dates: list[str], entities: tuple[Entity, ...] = ENTITIES) -> str:
    """A digest of the landing files (names, sizes, modification times) of `dates`: equal while
    nothing lands, different as soon as any file is added, removed or re-sent."""
    listed = [[e.asset_name, d, snapshot(partition_files(paths.landing, e.source, e.name, d))] for d in sorted(dates) for e in entities]
    return hashlib.sha256(json.dumps(listed).encode()).hexdigest()[:12]
