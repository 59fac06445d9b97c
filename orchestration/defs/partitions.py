"""The one partitioning of ingestion: the extract date (YYYY-MM-DD) of a landing folder.

Dynamic, because extract dates need not be daily or recent (docs/contract.md): the dates that exist
are the folders that arrived, registered by the sensor or by `run_pipeline`.
"""

from __future__ import annotations

import dagster as dg

extract_date_partitions = dg.DynamicPartitionsDefinition(name="extract_date")
