"""The dbt manifest the Dagster definitions load (dagster-dbt), written by `dbt parse` ahead of
time: by the CLI before a run, by the code location's preparer under `dg dev`."""

from __future__ import annotations

import hashlib
import os
import subprocess

from orchestration.lib.core.environment import export_env
from orchestration.lib.core.log import log
from orchestration.lib.core.paths import DBT_PROJECT_DIR, Paths, dbt_executable


def dbt_command(*args: str) -> list[str]:
    """A dbt command line of this environment with the project's folders."""
    return [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]


# Files of the dbt project that never change what `dbt parse` writes.
_NOT_PARSED = {"target", "logs", "dbt_packages", "dbt_target", "dbt_logs", ".user.yml"}


def manifest_fingerprint() -> str:
    """A digest of everything `dbt parse` reads: the project's files, the dbt version and the
    environment variables the project can read (CHW_*, DBT_*). Equal digests, equal manifests."""
    import dbt.version  # noqa: PLC0415 (only the CLI needs dbt in this process)

    # the project's own location too: the manifest and dbt's partial-parse cache hold absolute
    # paths (seed files), so a checkout moved or cloned elsewhere must parse again
    digest = hashlib.sha256(dbt.version.__version__.encode() + b"\0" + str(DBT_PROJECT_DIR).encode())
    for file in sorted(DBT_PROJECT_DIR.rglob("*")):
        relative = file.relative_to(DBT_PROJECT_DIR)
        if file.is_file() and not _NOT_PARSED.intersection(relative.parts):
            digest.update(str(relative).encode() + b"\0" + file.read_bytes() + b"\0")
    for key in sorted(os.environ):
        if key.startswith(("CHW_", "DBT_")):
            digest.update(f"{key}={os.environ[key]}\0".encode())
    return digest.hexdigest()


def prepare_dbt(paths: Paths) -> None:
    """Write the dbt target's manifest.json, which the Dagster definitions load (dagster-dbt).

    Skipped when the manifest was written from the same project files, dbt version and
    environment (see manifest_fingerprint): a `dbt parse` costs ~10 s of CPU even with its
    partial-parse cache, on every daily run, for a manifest that is the same byte for byte.
    """
    export_env(paths)
    stamp = paths.dbt_target / "manifest.fingerprint"
    manifest = paths.dbt_target / "manifest.json"

    def written(fingerprint: str) -> str:  # also the manifest's own state: another dbt may rewrite it
        state = manifest.stat()
        return f"{fingerprint}\n{state.st_mtime_ns} {state.st_size}\n"

    fingerprint = manifest_fingerprint()
    if manifest.exists() and stamp.exists() and stamp.read_text() == written(fingerprint):
        log("dbt manifest up to date (project unchanged): parse skipped")
        return
    stamp.unlink(missing_ok=True)
    # dbt's partial parse does not notice a moved project: it kept the seeds' old absolute paths
    # (a data dir built from one checkout, then run from another, failed in every seed). Project
    # files changed either way, so the full parse this forces costs nothing a partial one saves.
    (paths.dbt_target / "partial_parse.msgpack").unlink(missing_ok=True)
    subprocess.run(dbt_command("parse", "--quiet"), check=True, env=os.environ.copy())
    stamp.write_text(written(fingerprint))
