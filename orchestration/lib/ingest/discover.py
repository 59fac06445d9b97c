"""Find what arrived in the landing zone.

The landing zone is `<landing>/<source>/<entity>/<extract_date>/<any-name>.(csv|jsonl|parquet)`
(CONTRACT.md). Discovery is deliberately forgiving about what it ignores (hidden files, other
extensions, folders that are not dates) and strict about what it returns (sorted, real dates), so
that partitions and file order -- which decide "the last record wins" -- are deterministic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from orchestration.lib.contract import ENTITIES, Entity

#: file suffix (lower-case) -> reader format
FORMATS: dict[str, str] = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


def is_extract_date(name: str) -> bool:
    """True for a real calendar date written exactly `YYYY-MM-DD` (a folder like `2024-13-01`
    or `latest` is not an extract and is ignored)."""
    if len(name) != 10:
        return False
    try:
        return dt.date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def file_format(path: Path) -> str | None:
    """The reader format of a landing file, or None for a file ingestion ignores (other
    extensions, hidden or underscore files such as `.DS_Store` or `_SUCCESS`)."""
    if path.name.startswith((".", "_")) or not path.is_file():
        return None
    return FORMATS.get(path.suffix.lower())


def partition_files(landing: Path, source: str, entity: str, extract_date: str) -> list[Path]:
    """Files of one (source, entity, extract_date), sorted by name.

    Sorting fixes the order in which "the last record" of an extract is decided when no
    `updated_at` breaks a tie between duplicate keys.
    """
    folder = Path(landing) / source / entity / extract_date
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if file_format(p)), key=lambda p: p.name)


def entity_extract_dates(landing: Path, ent: Entity) -> list[str]:
    """Extract dates (sorted) for which one entity has at least one landing file."""
    folder = Path(landing) / ent.source / ent.name
    if not folder.is_dir():
        return []
    return sorted(
        d.name
        for d in folder.iterdir()
        if d.is_dir() and is_extract_date(d.name) and partition_files(landing, ent.source, ent.name, d.name)
    )


def newest_extract_date(landing: Path, ent: Entity) -> str | None:
    """The newest extract date with at least one landing file of `ent` (None: none), looking at
    the newest folders first rather than listing every folder's files."""
    folder = Path(landing) / ent.source / ent.name
    if not folder.is_dir():
        return None
    for d in sorted((d.name for d in folder.iterdir() if d.is_dir() and is_extract_date(d.name)), reverse=True):
        if partition_files(landing, ent.source, ent.name, d):
            return d
    return None


def discover_extract_dates(landing: Path, entities: tuple[Entity, ...] = ENTITIES) -> list[str]:
    """Every extract date present for any contract entity, sorted ascending.

    These are the partition keys of the ingest assets. Folders of sources or entities that the
    contract does not name are ignored: they would produce partitions nothing can read.
    """
    dates: set[str] = set()
    for ent in entities:
        dates.update(entity_extract_dates(landing, ent))
    return sorted(dates)
