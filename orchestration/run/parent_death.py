"""A child process that must not outlive the process that started it."""

from __future__ import annotations

import os
import signal


def die_with_parent(parent_pid: int, signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send this process `signum` when its parent dies (PR_SET_PDEATHSIG); elsewhere a no-op.

    Call it first thing in the child. `parent_pid` is the pid the parent had when it started the
    child: if the parent is already gone (the child now belongs to init), exit at once.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signum)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        raise SystemExit(1)
