"""The ingest floor: the least any ingest that writes a raw Parquet layer must do.

    python bench/ingest_floor.py --landing <landing> --out <dir> [--temp <spill dir>] [--threads N]

docs/ARCHITECTURE.md fixes the flow: landing files -> ingest -> raw Parquet -> staging. The SQL floor
(`bench/floor.py`) starts from that raw Parquet, so the pipeline pays for the raw layer on top
of whatever it shares with the floor. This script measures the smallest such cost: every landing
file read once with DuckDB's own readers and its rows copied to Parquet, nothing else:
  - no typing, no checks, no quarantine, no load log, no duplicate keys resolved;
  - no per-date partitions: one COPY per entity and file format, every thread writing its own
    file (PER_THREAD_OUTPUT), so both cores work all the time;
  - CSV read as text (`all_varchar`, the pipeline's dialect: a sniffed sample without quotes
    would split quoted commas), one read per distinct header line (the same columns in the
    same order) instead of `union_by_name`, which sniffs every file (M's 365 call extracts:
    12.2 s against 0.9 s); JSONL with one schema detected from a sample (no `union_by_name`:
    tickets 3.0 -> 0.4 s; a field the sample misses would be dropped: a floor may do less, never
    more); Parquet as typed; a malformed line is skipped (`ignore_errors`), not quarantined.
`sql_floor + ingest_floor` is then a lower bound for the pipeline (bench/run.py prints the ratio
it implies): the pipeline computes at least the floor's marts from the raw layer it must first
write. The rows written are printed per entity, to compare with the load log's rows_in.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestration.lib.core.contract import ENTITIES  # noqa: E402
from orchestration.lib.ingest.discover import entity_extract_dates, file_format, partition_files  # noqa: E402


def reader(fmt: str, files: list[Path]) -> str:
    listed = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    if fmt == "csv":
        return (f"read_csv({listed}, header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
                "filename = true, ignore_errors = true)")
    if fmt == "jsonl":
        return f"read_json({listed}, format = 'newline_delimited', filename = true, ignore_errors = true)"
    return f"read_parquet({listed}, union_by_name = true, filename = true)"


def groups(fmt: str, files: list[Path]) -> list[list[Path]]:
    """CSV files by header line (a read per group needs no `union_by_name`); others as one group."""
    if fmt != "csv":
        return [files]
    by_header: dict[bytes, list[Path]] = defaultdict(list)
    for f in files:
        with f.open("rb") as fh:
            by_header[fh.readline()].append(f)
    return list(by_header.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--landing", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--temp", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    con = duckdb.connect()
    if args.temp:
        args.temp.mkdir(parents=True, exist_ok=True)
        con.execute(f"set temp_directory = '{args.temp}'")
    if args.threads:
        con.execute(f"set threads = {args.threads}")
    t_all, total = time.perf_counter(), 0
    for ent in ENTITIES:
        by_format: dict[str, list[Path]] = defaultdict(list)
        for d in entity_extract_dates(args.landing, ent):
            for f in partition_files(args.landing, ent.source, ent.name, d):
                by_format[file_format(f) or ""].append(f)
        t0, rows = time.perf_counter(), 0
        for fmt, files in sorted(by_format.items()):
            if fmt not in ("csv", "jsonl", "parquet"):
                continue
            for k, group in enumerate(groups(fmt, files)):
                dest = args.out / ent.source / ent.name / f"{fmt}{k}"
                dest.mkdir(parents=True, exist_ok=True)
                # COPY returns the rows it wrote: no second read of the output
                rows += con.execute(
                    f"COPY (SELECT * FROM {reader(fmt, group)}) TO '{dest}' "
                    "(FORMAT parquet, PER_THREAD_OUTPUT, OVERWRITE_OR_IGNORE)"
                ).fetchone()[0]
        total += rows
        n_files = sum(len(v) for v in by_format.values())
        print(f"[ingest floor] {ent.source}.{ent.name:<16} {n_files:5d} files {rows:12,d} rows "
              f"{time.perf_counter() - t0:7.2f} s", flush=True)
    print(f"[ingest floor] total {total:,d} rows {time.perf_counter() - t_all:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
