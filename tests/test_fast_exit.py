"""orchestration.lib.fast_exit.exit_now: the exit the CLI and forked dbt commands end with. It
must look like `sys.exit` from outside: the same status, nothing printed lost, exit handlers run
and other threads finished first."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import atexit, logging, sys, threading, time
from orchestration.lib.fast_exit import exit_now

atexit.register(lambda: print("exit handler ran", flush=False))
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logging.getLogger("probe").info("logged")

def late():
    time.sleep(0.3)
    print("thread finished", flush=False)

threading.Thread(target=late).start()
print("buffered, not flushed", end="", flush=False)
sys.stdout.write("\\n")
exit_now({code})
"""


@pytest.mark.parametrize(("code", "status", "stderr"), [("3", 3, ""), ("None", 0, ""), ("'bad input'", 1, "bad input")])
def test_exit_now_exits_as_sys_exit_would(code, status, stderr):
    proc = subprocess.run([sys.executable, "-c", PROGRAM.format(code=code)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout.splitlines() == ["buffered, not flushed", "thread finished", "exit handler ran"]
    # the log line, then sys.exit's message if there is one, and nothing else
    assert proc.stderr.splitlines() == ["INFO:probe:logged", *([stderr] if stderr else [])]
