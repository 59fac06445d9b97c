"""Which feeds stopped arriving: an entity whose newest extract lags the landing zone's newest.

A feed stopped for ten days used to leave a run that exited 0 and said nothing. Measured in
extract dates, not wall-clock time (re-running old extracts is not "stale"), against
`vars.chw.freshness_max_lag_days`: a limit per kind of feed (snapshots arrive weekly, deltas
daily), which a `<source>__<entity>` key in the same map overrides for one entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from orchestration.lib.core import settings
from orchestration.lib.core.contract import ENTITIES


@dataclass(frozen=True)
class StaleFeed:
    entity: str  # "<source>/<entity>"
    newest: str  # its newest extract date
    newest_any: str  # the newest extract date of any entity
    lag_days: int
    max_lag_days: int


def max_lag_days(source: str, entity: str, kind: str) -> int:
    limits = settings.load()["freshness_max_lag_days"]
    return int(limits.get(f"{source}__{entity}", limits[kind]))


def stale_feeds(newest: dict[tuple[str, str], str]) -> list[StaleFeed]:
    """The stale ones among (source, entity) -> newest extract date (ISO); entities that never
    sent an extract are left out (a landing zone may hold only some sources)."""
    if not newest:
        return []
    newest_any = max(newest.values())
    kinds = {(e.source, e.name): e.kind for e in ENTITIES}
    out = []
    for (source, entity), day in sorted(newest.items()):
        if (source, entity) not in kinds:
            continue
        lag = (date.fromisoformat(newest_any) - date.fromisoformat(day)).days
        limit = max_lag_days(source, entity, kinds[(source, entity)])
        if lag > limit:
            out.append(StaleFeed(f"{source}/{entity}", day, newest_any, lag, limit))
    return out
