"""dbt commands forked from a process that has already imported dbt.

Why: every dbt command is a new Python process, and dbt's imports take ~3 s of it before the
first node (dbt-core, the DuckDB adapter, mashumaro's schema classes, agate). A transform run
starts three dbt commands (the dbt steps either side of the Python models), so on a run with
little to do the imports are a sixth of its time (bench/RESULTS.md, session 9).

How:
- `run_pipeline` starts a server (`python -m orchestration.lib.dbt_forkserver SOCKET PARENT_PID`)
  as it begins, so dbt is imported while the pipeline loads its own definitions. The server
  imports dbt, then listens on a Unix socket in a private temporary folder.
- `chw-dbt` (a console script of this package; dagster-dbt's `dbt_executable`) is the command
  dagster-dbt runs. It sends the server its arguments, environment, working directory and
  stdin/stdout/stderr, and the server forks a child that runs dbt's own entry point with them.
  The child's exit status comes back and `chw-dbt` ends with it: an exit code is returned, a
  signal is taken again, so dagster-dbt sees what it would see of dbt itself.
- SIGINT and SIGTERM sent to `chw-dbt` (dagster-dbt cancels with SIGINT) are passed to the child;
  if `chw-dbt` dies the child is killed; if the server dies (with the pipeline), so do its children.
- With no server announced in the environment, or none answering, `chw-dbt` execs the real dbt:
  `dagster dev`, the daemon and the tests that run dbt themselves are unchanged.

Each child is forked from a server that has only imported modules and built code from dbt's
classes and the project's macros (`_warm_up`), and never ran a dbt command, so no dbt state passes
from one command to the next. What a command leaves behind is a list of the macros it called, so
that the next server compiles their templates ahead.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

SOCKET_ENV = "CHW_DBT_FORKSERVER_SOCKET"
SERVER_PID_ENV = "CHW_DBT_FORKSERVER_PID"
ENABLED_ENV = "CHW_DBT_FORKSERVER"  # "0" turns it off
ENV_VARS = (SOCKET_ENV, SERVER_PID_ENV, ENABLED_ENV)  # none of them reaches what dbt builds
LAUNCHER = "chw-dbt"
# dbt's modules a command loads; a child finds them imported.
PRELOAD = (
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.duckdb.impl",
    "dbt.task.build",
    "dbt.parser.manifest",
    "dbt.compilation",
    "agate",
)
READY_TIMEOUT_S = 60.0  # the server's imports; a cold disk can take tens of seconds
_HEADER = struct.Struct("!I")


def real_dbt() -> str:
    """The dbt executable of this interpreter's environment, whether or not it is on PATH."""
    return os.path.join(os.path.dirname(sys.executable), "dbt")


def launcher() -> str:
    """`chw-dbt` beside this interpreter (installed with the package), else the real dbt."""
    path = os.path.join(os.path.dirname(sys.executable), LAUNCHER)
    return path if os.access(path, os.X_OK) else real_dbt()


# -- the pipeline side --------------------------------------------------------------------------


@contextmanager
def dbt_forkserver() -> Iterator[int | None]:
    """Run a fork server for this process's dbt commands while the block runs; yield its pid.

    The server's address goes into this process's environment, which dagster-dbt passes on to
    every dbt command. Off when CHW_DBT_FORKSERVER=0, or when `chw-dbt` is not installed.
    """
    import subprocess
    import tempfile

    if os.environ.get(ENABLED_ENV, "1") == "0" or launcher() == real_dbt():
        yield None
        return
    folder = tempfile.mkdtemp(prefix="chw-dbt-")  # short: a Unix socket path has ~100 bytes
    address = os.path.join(folder, "server.sock")
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestration.lib.dbt_forkserver", address, str(os.getpid())],
        stdin=subprocess.DEVNULL,
        # children write through: dagster-dbt reads dbt's JSON log lines as they come
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    saved = {k: os.environ.get(k) for k in (SOCKET_ENV, SERVER_PID_ENV)}
    os.environ[SOCKET_ENV] = address
    os.environ[SERVER_PID_ENV] = str(server.pid)
    try:
        yield server.pid
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)


# -- the server ---------------------------------------------------------------------------------


def serve(address: str, parent_pid: int) -> None:
    """Import dbt, then fork a child per connection until SIGTERM or the parent's death."""
    from orchestration.lib.parent_death import die_with_parent

    server_pid = os.getpid()
    children: dict[int, socket.socket] = {}
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal: the pipeline decides
    try:
        die_with_parent(parent_pid, signal.SIGTERM)  # not SIGKILL: the folder is removed on the way out
        for module in PRELOAD:
            __import__(module)
        _warm_up()
        listener.bind(address)
        listener.listen(8)
        listener.settimeout(0.1)  # also the delay before a finished child's status is passed on
        while True:
            _reap(children)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in children.values():  # other commands' connections are not this one's
                    other.close()
                _child(conn, server_pid)  # ends in SystemExit: this process exits as dbt does
            children[pid] = conn
            _send(conn, {"pid": pid})
    finally:
        if os.getpid() == server_pid:  # not in a child unwinding its exit
            listener.close()
            for pid in list(children):
                os.kill(pid, signal.SIGKILL)
            shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def _warm_up() -> None:
    """Build once what every dbt command builds the same way before or while it runs its nodes, so
    that each child finds it ready (bench/RESULTS.md, sessions 10 and 11):
    - the JSON schemas dbt validates the project, its flags, packages and selectors, the profile's
      credentials and the hooks against (cached per class by dbt, built on first use; ~0.5 s a
      command);
    - mashumaro's decoders of the saved manifest (partial_parse.msgpack) and its encoders of the
      nodes (dbt's "flat graph"), compiled on first use: decoding the file once and building its
      flat graph compiles them, and the decoded manifest is dropped (~0.5 s a command);
    - the Jinja templates of the macros the previous commands called (`TEMPLATES_USED`): dbt
      compiles a macro's template on its first call and caches it by the macro's text, so a
      template compiled here is the one the child would compile (~0.4-1.2 s a command).
    All are code derived from dbt's classes and the project's macros, not the data of any command.
    A failure here only costs the time it was meant to save, so it is ignored: the child then
    builds them itself."""
    try:
        from dbt.adapters.duckdb.credentials import DuckDBCredentials
        from dbt.artifacts.resources import Hook
        from dbt.contracts.graph.manifest import Manifest
        from dbt.contracts.project import PackageConfig, Project, ProjectFlags
        from dbt.contracts.selection import SelectorFile
        from dbt_common.clients.jinja import template_cache

        for contract in (Project, ProjectFlags, PackageConfig, SelectorFile, Hook, DuckDBCredentials):
            contract.json_schema()
        target = os.environ.get("DBT_TARGET_PATH", "")
        saved = os.path.join(target, "partial_parse.msgpack")
        if not os.path.isfile(saved):
            return
        with open(saved, "rb") as fh:
            manifest = Manifest.from_msgpack(fh.read())
        manifest.build_flat_graph()
        used = _templates_used(target)
        for macro in manifest.macros.values():
            if _digest(macro.macro_sql) in used:
                template_cache.get_node_template(macro)
    except Exception:  # noqa: BLE001, S110 (see the docstring)
        pass


# The macros (digests of their text) whose templates dbt commands compiled, one per line, in the
# dbt target folder: what the next server compiles ahead (_warm_up). Kept by the children.
TEMPLATES_USED = "forkserver_templates.txt"


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _templates_used(target: str) -> set[str]:
    try:
        with open(os.path.join(target, TEMPLATES_USED)) as fh:
            return set(fh.read().split())
    except OSError:
        return set()


def _record_templates_used(target: str) -> None:
    """Add the macros this command compiled to TEMPLATES_USED (written whole, then renamed: a
    command running beside it can lose the other's additions, which costs the next run time only)."""
    try:
        from dbt_common.clients.jinja import template_cache

        known = _templates_used(target)
        used = known | {_digest(text) for text in template_cache.file_cache}
        if used != known:
            temporary = os.path.join(target, f"{TEMPLATES_USED}.{os.getpid()}")
            with open(temporary, "w") as fh:
                fh.write("\n".join(sorted(used)) + "\n")
            os.replace(temporary, os.path.join(target, TEMPLATES_USED))
    except Exception:  # noqa: BLE001, S110 (a cache of a cache: never fail the command for it)
        pass


def _exit_on_signal(signum, frame):  # noqa: ARG001 (signal handler signature)
    raise SystemExit(0)


def _reap(children: dict[int, socket.socket]) -> None:
    """Pass each finished child's status to its `chw-dbt` (exit code, or -signal)."""
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                _send(conn, {"status": os.waitstatus_to_exitcode(status)})
            except OSError:
                pass  # chw-dbt is gone
            conn.close()


def _child(conn: socket.socket, server_pid: int) -> None:
    """Become the dbt command `chw-dbt` asked for."""
    import threading

    from orchestration.lib.fast_exit import exit_now
    from orchestration.lib.parent_death import die_with_parent

    for signum in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # dbt cancels on KeyboardInterrupt
    die_with_parent(server_pid)
    server_target = os.environ.get("DBT_TARGET_PATH", "")  # dagster-dbt gives each command its own
    request, fds = _receive_request(conn)
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = [real_dbt(), *request["args"]]
    # chw-dbt gone (killed): so is this command, as dbt itself would be
    threading.Thread(target=_die_when_closed, args=(conn,), daemon=True).start()
    from dbt.cli.main import cli

    try:
        cli()  # click's main: it ends in SystemExit with dbt's exit code
    except SystemExit as done:
        if server_target:
            _record_templates_used(server_target)
        # without freeing the heap it shares with the server: ~0.4 s a command (fast_exit)
        exit_now(done.code)


def _die_when_closed(conn: socket.socket) -> None:
    while True:
        try:
            if not conn.recv(4096):
                break
        except OSError:
            break
    os.kill(os.getpid(), signal.SIGKILL)


# -- the wire: a length-prefixed JSON request with three file descriptors, JSON lines back -------


def _send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _receive_request(conn: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
    while len(header) < _HEADER.size:
        header += conn.recv(_HEADER.size - len(header))
    (size,) = _HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("chw-dbt closed the connection mid-request")
        body += chunk
    return json.loads(body), list(fds)


# -- chw-dbt --------------------------------------------------------------------------------------


def run_client() -> None:
    """`chw-dbt ARGS`: dbt ARGS, forked from the announced server, else the real dbt."""
    args = sys.argv[1:]
    conn = _connect()
    if conn is None:
        os.execv(real_dbt(), [real_dbt(), *args])
    body = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    replies = conn.makefile("rb")
    try:
        socket.send_fds(conn, [_HEADER.pack(len(body))], [0, 1, 2])
        conn.sendall(body)
        child = _read(replies).get("pid")
    except OSError:
        child = None
    if child is None:  # the server failed before forking (e.g. out of memory): nothing started yet
        print("chw-dbt: the dbt fork server did not start the command; running dbt itself", file=sys.stderr)
        os.execv(real_dbt(), [real_dbt(), *args])
    forward = lambda signum, frame: os.kill(child, signum)  # noqa: E731, ARG005
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    status = _read(replies).get("status")
    if status is None:  # the server died (with the pipeline): its children with it
        sys.exit("chw-dbt: the dbt fork server ended before the command did")
    if status < 0:  # the command died of a signal: so does chw-dbt, for whoever waits on it
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    sys.exit(status)


def _read(replies) -> dict:
    line = replies.readline()  # a forwarded signal does not interrupt it (PEP 475)
    return json.loads(line) if line.strip() else {}


def _connect() -> socket.socket | None:
    """A connection to the announced server, waiting while it imports; None without one."""
    address = os.environ.get(SOCKET_ENV)
    server_pid = os.environ.get(SERVER_PID_ENV)
    if not address or not server_pid:
        return None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(int(server_pid), 0)
        except (OSError, ValueError):
            return None  # no server: the real dbt
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(address)
            return conn
        except (FileNotFoundError, ConnectionRefusedError):
            conn.close()
            time.sleep(0.05)  # still importing dbt
    return None


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
