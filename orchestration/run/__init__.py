"""The run driver behind `python -m orchestration.cli run`: one pipeline at a time per warehouse
(lock), the ingest run in a child process that dies with its parent, the transform run, and what
failed, one line each. It drives the Dagster definitions (orchestration/definitions.py) and the
library below them; neither imports it."""
