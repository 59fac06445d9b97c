"""Whether a dbt build must rebuild its incremental models in full, decided by the build itself.

The incremental models (docs/ARCHITECTURE.md, "Incremental models") re-read only the extracts
newer than their cutoff: the newest extract date they hold minus `vars.chw.incremental_lookback_days`.
An extract re-ingested or withdrawn at or before that cutoff (rows appended to a 17-day-old file, an
old file re-sent and rejected, an old extract-date folder deleted or arriving late) changes raw and
audit but no incremental run reads it again: the marts stayed out of step with raw, silently.

Ingest already knows what changed (`landing_state`): each finished partition leaves a record of
the landing files it read. A dbt asset remembers, after each successful build of its whole
selection, a digest of every such record (`transform_state/<asset>.json` in the data dir); the next
build compares them with the records now. The earliest extract date that differs, if it is at or
before the cutoff of the previous build, makes that build a `--full-refresh`. Being decided inside
the dbt asset, it holds however the transform runs: `make run`, the sensor's run after an ingest,
the daily schedule, or the UI.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from orchestration.lib.core.paths import Paths

# {"<source>__<entity>": {"YYYY-MM-DD": digest of that partition's landing_state record}}
Ingested = dict[str, dict[str, str]]


def ingested(paths: Paths) -> Ingested:
    """What ingest has recorded now, one digest per entity and extract date."""
    out: Ingested = {}
    for record in sorted((paths.audit / "landing_state").glob("*/extract_date=*.json")):
        digest = hashlib.sha256(record.read_bytes()).hexdigest()[:16]
        out.setdefault(record.parent.name, {})[record.stem.removeprefix("extract_date=")] = digest
    return out


def state_file(paths: Paths, asset: str) -> Path:
    return paths.data / "transform_state" / f"{asset}.json"


def built_from(paths: Paths, asset: str) -> Ingested | None:
    """What the last successful build of `asset`'s whole selection was built from (None: unknown,
    e.g. a first build, or a warehouse built before this record existed)."""
    try:
        return json.loads(state_file(paths, asset).read_text(encoding="utf-8"))["ingested"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def remember(paths: Paths, asset: str, state: Ingested) -> None:
    """Record what a successful build read (atomic: a temp file renamed over the record)."""
    dest = state_file(paths, asset)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"ingested": state}, sort_keys=True), encoding="utf-8")
    os.replace(tmp, dest)


@dataclass(frozen=True)
class FullRefresh:
    """Why a build rebuilds its incremental models in full."""

    earliest: str  # the earliest changed extract date
    cutoff: str  # the previous build's cutoff: its newest extract date minus the lookback
    lookback_days: int
    changes: tuple[tuple[str, str, str], ...]  # (entity, extract date, "re-sent" | "withdrawn" | "arrived late") at or before the cutoff

    @property
    def entities(self) -> list[str]:
        return sorted({entity for entity, _, _ in self.changes})

    def reason(self) -> str:
        shown = ", ".join(f"{entity} {day} {how}" for entity, day, how in self.changes[:6])
        more = f" and {len(self.changes) - 6} more" if len(self.changes) > 6 else ""
        return (
            f"extracts changed at or before the incremental cutoff {self.cutoff} (newest extract built minus "
            f"incremental_lookback_days {self.lookback_days}): {shown}{more}"
        )


def full_refresh_needed(before: Ingested | None, now: Ingested, lookback_days: int) -> FullRefresh | None:
    """A FullRefresh when an extract changed since `before` at or before its cutoff, else None.

    The cutoff is taken from the newest extract date over every entity of `before`: each
    incremental model's own cutoff (its own newest extract minus the lookback) is never later, so
    a change after this cutoff is within every model's reach.
    """
    if not before:
        return None  # a first build is a full build; an unknown one cannot be judged
    newest = max((d for dates in before.values() for d in dates), default=None)
    if newest is None:
        return None
    cutoff = (date.fromisoformat(newest) - timedelta(days=lookback_days)).isoformat()
    changes = []
    for entity in sorted(set(before) | set(now)):
        old, new = before.get(entity, {}), now.get(entity, {})
        for day in sorted(set(old) | set(new)):
            if day > cutoff or old.get(day) == new.get(day):
                continue
            how = "withdrawn" if day not in new else "arrived late" if day not in old else "re-sent"
            changes.append((entity, day, how))
    if not changes:
        return None
    changes.sort(key=lambda c: (c[1], c[0]))
    return FullRefresh(changes[0][1], cutoff, lookback_days, tuple(changes))
