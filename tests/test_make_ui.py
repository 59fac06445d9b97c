"""`make ui` as a user types it in a plain shell (the virtualenv not activated, no .venv/bin on
PATH, no DAGSTER_HOME): the Dagster UI comes up with the code location loaded, listens on
127.0.0.1 only, and prints no warning.

Runs `make ui UI_PORT=<a free port>` in its own process group on an empty data folder (the UI
needs no pipeline run to load the code location), asks the webserver's GraphQL API whether the
code location loaded, reads which TCP sockets the process group listens on from /proc, and stops
the whole group at the end (SIGINT, as Ctrl-C; SIGKILL if it lingers).
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser import free_port

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 420  # the code location loads in ~1-2 min on a busy 2-core machine
LOCATION = "customer_health_warehouse"  # pyproject.toml, [tool.dg.project]

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux /proc")


def plain_shell_env(data: Path) -> dict[str, str]:
    """The user's environment without the project's virtualenv: not activated, not on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "DAGSTER_HOME", "PYTHONPATH") and not k.startswith("CHW_")}
    env["PATH"] = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and os.path.abspath(p) != venv_bin and ".venv" not in Path(p).parts
    )
    env.update(CHW_DATA_DIR=str(data), CHW_WAREHOUSE=str(data / "warehouse.duckdb"),
               CHW_LANDING_DIR=str(data / "landing"))
    return env


def graphql(base: str, query: str) -> dict:
    req = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


LOCATIONS = ("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
             "locationOrLoadError { __typename ... on PythonError { message } } } } } }")


def _address(hex_address: str) -> str:
    """An address of /proc/net/tcp{,6} (hex, in 32-bit little-endian words) as text."""
    raw = bytes.fromhex(hex_address)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening(pgid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the processes of group `pgid` listen on."""
    inodes = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
        except (OSError, IndexError, ValueError):  # a process that ended meanwhile
            continue
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                out.append((_address(address), int(port, 16)))
    return out


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        deadline = time.monotonic() + wait  # make has exited; its children may still be stopping
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)


def test_make_ui_in_a_plain_shell_loads_the_code_location_on_localhost_only(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "make_ui.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["make", "ui", f"UI_PORT={port}"], cwd=ROOT, env=plain_shell_env(data),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        entries = None
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`make ui` exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                entries = graphql(base, LOCATIONS)["data"]["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the UI did not load in {STARTUP_SECONDS} s ({entries}):\n{log_path.read_text()[-4000:]}")
            time.sleep(2)

        assert [e["name"] for e in entries] == [LOCATION]
        errors = [e["locationOrLoadError"].get("message", "")[:2000] for e in entries
                  if e["locationOrLoadError"]["__typename"] == "PythonError"]
        assert errors == [], f"the code location failed to load: {errors}"
        assert graphql(base, "{ assetNodes { id } }")["data"]["assetNodes"], "no assets in the code location"

        sockets = listening(proc.pid)
        assert ("127.0.0.1", port) in sockets, sockets
        assert [s for s in sockets if not _is_loopback(s[0])] == [], f"listening beyond 127.0.0.1: {sockets}"

        output = log_path.read_text()
        for unwanted in ("WARNING", "Warning:", "superseded", "DAGSTER_HOME", "does not match the virtual environment",
                         "Telemetry"):
            assert unwanted not in output, f"`make ui` printed {unwanted!r}:\n{output[-4000:]}"
    finally:
        _stop(proc)
    try:
        os.killpg(proc.pid, 0)
        pytest.fail("processes of `make ui` outlived the stop")
    except ProcessLookupError:
        pass
