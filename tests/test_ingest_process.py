"""The ingest child process (orchestration/run/ingest_process.py): it dies with the pipeline process,
and a child that ends without a result is reported, not waited on or taken for success."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.run import ingest_process

# A parent that starts a child which only calls die_with_parent and sleeps, prints the child's
# pid, then waits to be killed.
PARENT = """
import multiprocessing, sys, time
from orchestration.run.parent_death import die_with_parent

def child(parent_pid):
    die_with_parent(parent_pid)
    time.sleep(600)

if __name__ == "__main__":
    import os
    p = multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_dies_with_a_killed_parent(tmp_path: Path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    child_pid = None
    try:
        child_pid = int(parent.stdout.readline())
        time.sleep(1.0)  # whether or not its prctl ran yet, the child must not outlive the parent:
        # die_with_parent also exits when the parent is already gone
        assert _alive(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child_pid), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        if child_pid is not None and _alive(child_pid):  # a failed test leaves nothing running
            os.kill(child_pid, signal.SIGKILL)


def test_a_child_that_ends_without_a_result_is_a_failed_ingest_that_says_how(monkeypatch, tmp_path: Path):
    # without DAGSTER_HOME the child cannot open the instance: it raises and exits before reporting
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CHW_DATA_DIR", str(tmp_path))
    outcome = ingest_process.run_ingest_in_child(["2026-10-31"], {})
    assert not outcome.success
    assert outcome.run_id is None
    assert outcome.failures == ["ingest: the ingest process ended without a result (exit code 1)"]
    assert ingest_process._how_it_ended(-signal.SIGKILL) == "killed by SIGKILL: out of memory?"
