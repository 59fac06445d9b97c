"""The ingest run of `run_pipeline`, in a child process of its own.

Why a child: ingest loads pandas, great-expectations, pyarrow and DuckDB and keeps their native
memory (caches, arenas, loaded code) for as long as the process lives; `malloc_trim` gave back 53
of 702 MiB at preset M (measured with bench/run.py). The pipeline process then sat beside dbt
(a child with its own 3 GB DuckDB limit) through the whole transform, and the process tree peaked
at 4 043 MiB against the 4 GiB budget. A child's memory all goes when it exits. The cost is one
more interpreter that loads the definitions (a few seconds), and only on runs that ingest.

The child runs the same Dagster job on the same instance (DAGSTER_HOME and the paths are
inherited through the environment), with the parent's owner tags: the run belongs to the
pipeline process that holds the lock, so `release_abandoned_runs` treats it as it treats the
transform run. The child dies with its parent (PR_SET_PDEATHSIG on Linux): a killed pipeline
leaves no ingest running on behind the next one's back.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from orchestration.run.failures import failure_messages
from orchestration.run.parent_death import die_with_parent


@dataclass
class IngestOutcome:
    success: bool
    run_id: str | None
    failures: list[str] = field(default_factory=list)


def run_ingest_in_child(dates: list[str], tags: dict[str, str]) -> IngestOutcome:
    """Run `ingest_job` over `dates` (a single-run backfill of that partition range) in a child
    process, wait for it, and return its outcome. A child that dies without reporting (killed,
    out of memory) is an unsuccessful ingest whose message says how it ended."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited to free
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(dates, tags, send, os.getpid()), name="chw-ingest")
    child.start()
    send.close()  # the child holds the only writing end: its exit ends our recv() with EOFError
    try:
        try:
            outcome = receive.recv()
        except EOFError:
            outcome = None
        child.join()
    except BaseException:  # KeyboardInterrupt, SystemExit: never leave the child running on
        _stop(child)
        raise
    finally:
        receive.close()
    if outcome is None:
        return IngestOutcome(False, None, [f"ingest: the ingest process ended without a result ({_how_it_ended(child.exitcode)})"])
    return outcome


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = ": out of memory?" if exitcode == -signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {exitcode}"


def _stop(child: multiprocessing.process.BaseProcess) -> None:
    if child.is_alive():
        child.terminate()
        child.join(timeout=30)
    if child.is_alive():
        child.kill()
        child.join()


def _child_main(dates: list[str], tags: dict[str, str], send: Connection, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.automation import one_planned_event_per_asset

    with one_planned_event_per_asset():  # not one planned event per asset x extract date
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=dg.DagsterInstance.get(),
            tags={
                **tags,
                "dagster/asset_partition_range_start": dates[0],
                "dagster/asset_partition_range_end": dates[-1],
            },
            raise_on_error=False,
        )
    send.send(IngestOutcome(result.success, result.run_id, failure_messages(result)))
    send.close()
