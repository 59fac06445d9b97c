{#-
    upsert_strategy(): the incremental strategy of the models that replace rows by key
    (`unique_key`): a build deletes the keys it read again, then inserts their new rows.

    DuckDB: dbt's `delete+insert`. Spark over plain Parquet tables (no Delta or Iceberg) has no
    delete and no merge, so there the project builds every model in full at every run (the
    pipeline passes --full-refresh on Spark) and the strategy is never applied: `append` only
    satisfies dbt-spark's check of the config. incremental_cutoff() and period_increment()
    refuse an incremental build on Spark, so rows can never be appended twice.
-#}
{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__upsert_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{#- Called where an incremental build starts reading less than everything. -#}
{% macro refuse_increment_without_delete() -%}
    {%- if execute and is_incremental() and adapter.type() == 'spark' -%}
        {{ exceptions.raise_compiler_error(
            "model " ~ this ~ ": on Spark with plain Parquet tables (no delete, no merge) every build is a full one: "
            ~ "run dbt with --full-refresh (the pipeline does when CHW_ENGINE=spark)") }}
    {%- endif -%}
{%- endmacro %}
