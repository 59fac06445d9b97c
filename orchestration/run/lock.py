"""One pipeline at a time per warehouse: a second run waits for the first instead of failing.

DuckDB allows one writing process. Two `make run`s (or a scheduled run and a manual one) started
at once would otherwise collide on the warehouse file; with this lock the second one queues,
says so, and starts when the first is done. The lock is an OS file lock (flock), so a killed run
releases it at once: there is no stale lock file to clean up.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def pipeline_lock(lock_file: Path, say: Callable[[str], None] = print, poll_seconds: float = 2.0) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another pipeline run holds {lock_file}: waiting for it to finish")
            started = time.monotonic()
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(poll_seconds)
            say(f"lock acquired after {time.monotonic() - started:.0f} s")
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
