"""`chw-dbt` and the dbt fork server (orchestration/lib/dbt_forkserver.py), with the real dbt.

What dagster-dbt must not notice: the command's output, exit code and environment are dbt's own,
and stopping `chw-dbt` stops the dbt command. What must hold besides: the command is a child
of the server (not a dbt started cold), and without a server `chw-dbt` is dbt itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.lib import dbt_forkserver

LAUNCHER = dbt_forkserver.launcher()
pytestmark = pytest.mark.skipif(
    not LAUNCHER.endswith(dbt_forkserver.LAUNCHER), reason="chw-dbt is not installed (make setup)"
)


def dbt_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def wait_gone(pid: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_a_command_is_forked_from_the_server_and_ends_as_dbt_would(tmp_path, monkeypatch):
    monkeypatch.delenv(dbt_forkserver.SOCKET_ENV, raising=False)
    args = ["--log-format", "json", "debug", "--config-dir"]
    env = {**os.environ, "DBT_PROFILES_DIR": str(tmp_path / "profiles")}
    (tmp_path / "profiles").mkdir()
    cold = run([dbt_forkserver.real_dbt(), *args], env, tmp_path)

    with dbt_forkserver.dbt_forkserver() as server_pid:
        assert server_pid is not None
        env = {**os.environ, "DBT_PROFILES_DIR": str(tmp_path / "profiles")}
        launcher = subprocess.Popen(
            [LAUNCHER, *args], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out, err = launcher.communicate(timeout=300)
        # a click usage error: dbt's exit code 2, passed back
        bad = run([LAUNCHER, "debug", "--no-such-option"], env, tmp_path)

    assert launcher.returncode == cold.returncode == 0, err
    forked, direct = dbt_lines(out), dbt_lines(cold.stdout)
    assert [e["info"]["name"] for e in forked] == [e["info"]["name"] for e in direct]
    # the environment and arguments reached dbt: it reports the profiles folder it was given
    said = next(e for e in forked if e["info"]["name"] == "OpenCommand")
    assert said["data"]["profiles_dir"] == str(tmp_path / "profiles")
    # dbt ran in another process than chw-dbt (an exec of dbt keeps chw-dbt's pid)
    assert {e["info"]["pid"] for e in forked} != {launcher.pid}
    assert bad.returncode == run([dbt_forkserver.real_dbt(), "debug", "--no-such-option"], env, tmp_path).returncode == 2
    assert "no-such-option" in bad.stderr + bad.stdout


def test_without_a_server_chw_dbt_is_dbt_itself(tmp_path, monkeypatch):
    monkeypatch.delenv(dbt_forkserver.SOCKET_ENV, raising=False)
    monkeypatch.delenv(dbt_forkserver.SERVER_PID_ENV, raising=False)
    launcher = subprocess.Popen(
        [LAUNCHER, "--log-format", "json", "debug", "--config-dir"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = launcher.communicate(timeout=300)
    assert launcher.returncode == 0, err
    assert {e["info"]["pid"] for e in dbt_lines(out)} == {launcher.pid}  # exec'd: the same process


PROBE = {
    "dbt_project.yml": 'name: probe\nversion: "1.0"\nprofile: probe\nmacro-paths: ["macros"]\n',
    "profiles.yml": 'probe:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ":memory:", threads: 1}\n',
    # busy for hours unless stopped (Python, so SIGINT lands at once; a DuckDB query may not
    # see it: dbt alone then runs on)
    "macros/spin.sql": (
        '{% macro spin() %}{% do log("spinning", info=True) %}'
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endmacro %}"
    ),
}


def test_a_server_that_fails_before_forking_leaves_dbt_to_run_itself(monkeypatch):
    """A server that accepts and then dies (say, fork fails: out of memory) started nothing: chw-dbt
    runs dbt itself rather than failing the step."""
    import socket
    import tempfile
    import threading

    folder = tempfile.mkdtemp(prefix="chw-test-")
    address = os.path.join(folder, "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    threading.Thread(target=lambda: listener.accept()[0].close(), daemon=True).start()
    monkeypatch.setenv(dbt_forkserver.SOCKET_ENV, address)
    monkeypatch.setenv(dbt_forkserver.SERVER_PID_ENV, str(os.getpid()))  # a live pid
    try:
        launcher = subprocess.Popen(
            [LAUNCHER, "--log-format", "json", "debug", "--config-dir"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        out, err = launcher.communicate(timeout=300)
    finally:
        listener.close()
    assert launcher.returncode == 0, err
    assert "running dbt itself" in err
    assert {e["info"]["pid"] for e in dbt_lines(out)} == {launcher.pid}


def start_spin(tmp_path: Path, executable: str = LAUNCHER) -> tuple[subprocess.Popen, int]:
    """A dbt command busy in DuckDB until stopped; return it (once it is busy) and dbt's pid."""
    for name, text in PROBE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    command = subprocess.Popen(
        [executable, "--log-format", "json", "run-operation", "spin", "--profiles-dir", str(tmp_path),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    for line in command.stdout:
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("info", {}).get("msg") == "spinning":
            return command, event["info"]["pid"]
    raise AssertionError(f"dbt ended before its query ran: exit code {command.wait()}")


def interrupt(command: subprocess.Popen) -> int:
    """SIGINT, as dagster-dbt cancels; again if dbt has not ended 30 s later. dbt alone, on a
    loaded machine, once stayed on after a single SIGINT (CI, load 5 on 2 cores)."""
    for _ in range(4):
        command.send_signal(signal.SIGINT)
        try:
            command.communicate(timeout=30)
            return command.returncode
        except subprocess.TimeoutExpired:
            continue
    command.kill()
    raise AssertionError("dbt did not stop on SIGINT")


def test_stopping_chw_dbt_stops_the_dbt_command(tmp_path, monkeypatch):
    monkeypatch.delenv(dbt_forkserver.SOCKET_ENV, raising=False)
    with dbt_forkserver.dbt_forkserver():
        # SIGINT (dagster-dbt's cancel) is passed on: dbt stops and ends as it does alone, with 2
        # (not killed by the signal: chw-dbt's own default would give -2)
        launcher, dbt_pid = start_spin(tmp_path / "a")
        assert dbt_pid != launcher.pid and alive(dbt_pid)
        assert interrupt(launcher) == 2
        assert wait_gone(dbt_pid)

        # chw-dbt killed: its dbt command does not run on unseen
        launcher, dbt_pid = start_spin(tmp_path / "b")
        launcher.kill()
        launcher.wait(timeout=30)
        assert wait_gone(dbt_pid, 60), "the dbt command outlived its SIGKILLed chw-dbt"

        # the server gone (the pipeline ended or was killed): its commands end, chw-dbt says so
        launcher, dbt_pid = start_spin(tmp_path / "c")
        os.kill(int(os.environ[dbt_forkserver.SERVER_PID_ENV]), signal.SIGKILL)
        rest = launcher.communicate(timeout=120)[0]
        assert launcher.returncode != 0
        assert "fork server ended before the command did" in rest
        assert wait_gone(dbt_pid)


def test_the_fork_server_dies_with_its_parent(tmp_path):
    """A pipeline process killed outright leaves no server (nor dbt) behind, nor its folder."""
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, time\n"
         "from orchestration.lib.dbt_forkserver import dbt_forkserver, SOCKET_ENV\n"
         "with dbt_forkserver() as pid:\n"
         "    while not os.path.exists(os.environ[SOCKET_ENV]):\n"
         "        time.sleep(0.05)\n"
         "    print(pid, os.environ[SOCKET_ENV], flush=True)\n"
         "    time.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True, env={k: v for k, v in os.environ.items() if k != dbt_forkserver.SOCKET_ENV},
    )
    try:
        pid, address = parent.stdout.readline().split()
        server_pid = int(pid)
        assert alive(server_pid)
        parent.kill()
        parent.wait(timeout=10)
        assert wait_gone(server_pid), "the fork server outlived its SIGKILLed parent"
        assert not Path(address).parent.exists(), "the server's folder stayed behind"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_next_server_compiles_ahead_the_macros_a_command_called(tmp_path, monkeypatch):
    """A forked command records the macros whose templates it compiled (digests of their text,
    beside the server's dbt target); a server's warm-up compiles those from the saved manifest,
    and only those. A command that fails still ends with dbt's exit code (1)."""
    from dbt_common.clients.jinja import template_cache

    monkeypatch.delenv(dbt_forkserver.SOCKET_ENV, raising=False)
    project = tmp_path / "probe"
    files = {
        **PROBE,
        "macros/hello.sql": '{% macro hello() %}{% do log("hello " ~ greeting(), info=True) %}{% endmacro %}',
        "macros/greeting.sql": "{% macro greeting() %}{{ return('world') }}{% endmacro %}",
        "macros/never.sql": "{% macro never_called() %}{{ return(1) }}{% endmacro %}",
        "macros/fail.sql": '{% macro fail() %}{% do exceptions.raise_compiler_error("no") %}{% endmacro %}',
    }
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    target = tmp_path / "target"  # the server's: what the pipeline exports for every dbt command
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    args = ["--profiles-dir", str(project), "--log-path", str(tmp_path / "logs")]
    with dbt_forkserver.dbt_forkserver():
        hello = run([LAUNCHER, "run-operation", "hello", *args], os.environ.copy(), project)
        failed = run([LAUNCHER, "run-operation", "fail", *args], os.environ.copy(), project)
    assert hello.returncode == 0, hello.stdout + hello.stderr
    assert "hello world" in hello.stdout
    assert failed.returncode == 1, failed.stdout + failed.stderr

    used = dbt_forkserver._templates_used(str(target))
    for name, called in (("hello", True), ("greeting", True), ("never", False)):
        assert (dbt_forkserver._digest(files[f"macros/{name}.sql"]) in used) is called, name

    template_cache.clear()
    try:
        dbt_forkserver._warm_up()
        compiled = set(template_cache.file_cache)
    finally:
        template_cache.clear()
    assert {files["macros/hello.sql"], files["macros/greeting.sql"]} <= compiled
    assert files["macros/never.sql"] not in compiled
