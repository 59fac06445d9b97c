"""The pipeline's output line: `[chw HH:MM:SS] message`, flushed at once (the CLI's runs, the
Dagster steps that say what they decided, the tests that read the lines)."""

from __future__ import annotations

import time


def log(message: str) -> None:
    print(f"[chw {time.strftime('%H:%M:%S')}] {message}", flush=True)
