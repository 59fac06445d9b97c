"""Around the dbt build: the manifest prepared ahead of time, what each build read (when to
rebuild in full), the rules a failed table check found broken, and DuckDB vs Spark tables."""
