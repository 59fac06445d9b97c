"""Dagster's SQLite event log with its database connections kept open between events.

Every event of a run goes through `SqliteEventLogStorage._connect`: a step starting, an asset
materialized, and each dbt test's check result (planned, then evaluated). A transform run here
writes about 1 700 of them; asset events are written twice (run shard and index shard). Dagster's
`_connect` builds a new SQLAlchemy engine for each write and opens and closes a SQLite connection
with it (`NullPool`). In a profile of a run with nothing new on the `tiny` preset, that was 19.5 s
of CPU in `store_event`, 10.2 s of it in `_connect` (bench/RESULTS.md, session 7).

This subclass keeps one engine per database file, with SQLAlchemy's default connection pool. The
storage is otherwise Dagster's own: the same files, schema, migrations and watchers. dagster.yaml
selects it (`event_log_storage`), so the UI, daemon and pipeline all use it. Keeping a SQLite
connection open holds no lock between transactions, so other processes (the webserver reading a
running run) see the same database as before.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
)
from dagster._core.storage.sql import create_engine
from sqlalchemy.engine import Connection, Engine

# Run shards a long-lived process (the webserver) keeps engines for; the least recently used
# one is closed beyond this.
MAX_OPEN_SHARDS = 16


def default_base_dir() -> str:
    """Where Dagster's default instance keeps its event log: $DAGSTER_HOME/history/runs.

    A storage class is not told its instance's folder, so DAGSTER_HOME names it (as it does
    for `DagsterInstance.get()`; every entry point of this project sets it)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError(
            "PooledSqliteEventLogStorage (dagster.yaml, event_log_storage) needs DAGSTER_HOME set to the "
            "instance's folder, or a base_dir in its config"
        )
    return os.path.join(home, "history", "runs")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one cached engine (and connection pool) per shard."""

    def __init__(self, base_dir: str | None = None, inst_data: Any = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._has_table_engine: Engine | None = None
        super().__init__(base_dir or default_base_dir(), inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # noqa: D102 (Dagster's ConfigurableClass)
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > MAX_OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's own _connect, but with the engine kept: same lock, same one-time schema check
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Dagster asks this before storing every asset check event (`supports_asset_checks`), and
        # its own version builds a new engine and SQLite connection each time: ~0.9 s of a `tiny`
        # run with nothing new (some 600 check events). It is called inside `_connect`, which holds
        # the (non-reentrant) `_db_lock`: a second kept engine of its own, not the pool's.
        engine = self._has_table_engine
        if engine is None:
            engine = self._has_table_engine = create_engine(
                self.conn_string_for_shard(INDEX_SHARD_NAME), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            )
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
            if self._has_table_engine is not None:
                self._has_table_engine.dispose()
                self._has_table_engine = None

    def wipe(self) -> None:
        # wipe deletes the run shards' files: no connection may stay open on a deleted file
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
