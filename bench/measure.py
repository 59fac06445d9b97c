"""Run one command as a child process and measure it: wall time, CPU time, peak memory, spill.

No third-party dependency (psutil is not in the environment):
- CPU time (user + sys) and the kernel's peak RSS come from os.wait4() on the child, which
  covers the child and every descendant it waited for (dbt, Dagster step processes).
  ru_maxrss is the peak of the single largest process of that tree.
- The whole tree's RSS (sum over the child and its live descendants) is polled from /proc
  every 0.2 s, so concurrent processes (Dagster + dbt) are counted together: tree_peak_rss.
  At the peak, the processes it was made of and the time are kept (extra.tree_peak_*).
- Spill: the size of the given directories (DuckDB temp_directory, `<db>.tmp`) is polled
  too; the peak is reported.
- The load average (1 min) before and after, because other people share the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    name: str
    command: list[str]
    returncode: int = 0
    wall_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    maxrss_mib: float = 0.0  # kernel: peak RSS of the largest single process in the tree
    tree_peak_rss_mib: float = 0.0  # polled: peak of the summed RSS of the live process tree
    spill_peak_mib: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    started: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["cpu_s"] = self.cpu_s
        return d


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    out.extend(int(x) for x in fh.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def _tree_rss_by_pid(pid: int) -> dict[int, int]:
    """RSS in bytes of `pid` and each live descendant."""
    rss, stack = {}, [pid]
    while stack:
        p = stack.pop()
        if p in rss:
            continue
        try:
            with open(f"/proc/{p}/statm") as fh:
                rss[p] = int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(p))
    return rss


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
    except OSError:
        return "?"


def dir_size(path: Path) -> int:
    total = 0
    if not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def run_measured(
    name: str,
    command: list[str],
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    spill_dirs: list[Path] = (),
    log_path: Path | None = None,
    timeout_s: float | None = None,
) -> Measurement:
    m = Measurement(name=name, command=[str(c) for c in command])
    m.load_before = os.getloadavg()[0]
    m.started = time.strftime("%H:%M:%S")
    out = open(log_path, "w") if log_path else subprocess.DEVNULL
    t0 = time.monotonic()
    proc = subprocess.Popen(m.command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    peak = [0, 0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            by_pid = _tree_rss_by_pid(proc.pid)
            total = sum(by_pid.values())
            if total > peak[0]:
                # which processes made up the tree at its peak, and when (which phase set it)
                peak[0] = total
                m.extra["tree_peak_at_s"] = round(time.monotonic() - t0, 1)
                m.extra["tree_peak_processes"] = sorted(
                    ([round(r / 2**20), _command_line(p)] for p, r in by_pid.items()), reverse=True
                )
            if spill_dirs:
                peak[1] = max(peak[1], sum(dir_size(Path(d)) for d in spill_dirs))
            if timeout_s and time.monotonic() - t0 > timeout_s:
                proc.kill()
            done.wait(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    _pid, status, ru = os.wait4(proc.pid, 0)
    m.wall_s = time.monotonic() - t0
    done.set()
    poller.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log_path:
        out.close()
    m.returncode = proc.returncode
    m.user_s, m.sys_s = ru.ru_utime, ru.ru_stime
    m.maxrss_mib = ru.ru_maxrss / 1024
    m.tree_peak_rss_mib = peak[0] / 2**20
    m.spill_peak_mib = peak[1] / 2**20
    m.load_after = os.getloadavg()[0]
    return m


def save(measurements: list[Measurement], path: Path) -> None:
    path.write_text(json.dumps([m.to_dict() for m in measurements], indent=2))


def fmt_row(m: Measurement) -> str:
    return (
        f"{m.name:<28} rc={m.returncode:<3} wall {m.wall_s:8.1f} s  cpu {m.cpu_s:8.1f} s  "
        f"maxrss {m.maxrss_mib:7.0f} MiB  tree {m.tree_peak_rss_mib:7.0f} MiB  spill {m.spill_peak_mib:6.0f} MiB  "
        f"load {m.load_before:.2f}->{m.load_after:.2f}"
    )
