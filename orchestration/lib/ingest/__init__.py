"""Ingestion helpers: landing files -> validated raw Parquet + audit Parquet (no Dagster here).

Entry points: `ingest_partition(paths, entity, extract_date, validator=None)` and, for many extract
dates with one batch validation, `ingest_partitions`; discovery with
`discover_extract_dates` / `partition_files`; layout in `write`.
"""

from orchestration.lib.ingest.discover import discover_extract_dates, entity_extract_dates, partition_files
from orchestration.lib.ingest.partition import (
    FileResult,
    PartitionResult,
    Validator,
    ingest_partition,
    ingest_partitions,
)
from orchestration.lib.ingest.write import (
    ensure_schemas,
    load_log_file,
    quarantine_file,
    raw_partition_file,
    raw_schema_file,
)

__all__ = [
    "FileResult",
    "PartitionResult",
    "Validator",
    "ensure_schemas",
    "entity_extract_dates",
    "discover_extract_dates",
    "ingest_partition",
    "ingest_partitions",
    "load_log_file",
    "partition_files",
    "quarantine_file",
    "raw_partition_file",
    "raw_schema_file",
]
