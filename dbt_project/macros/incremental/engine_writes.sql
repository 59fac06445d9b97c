{#-
    How an incremental build writes on each engine (docs/ARCHITECTURE.md, incremental models).

    The models incremental by day or by period replace whole days or periods: they declare those
    as their partitions (`partition_by=partition_columns([...])`), work out which ones they
    recompute (macros/incremental/incremental_window.sql, period_increment.sql) and select every
    row of exactly those. The engine then replaces those partitions and nothing else:

      replace_days_strategy()   the strategy of a model whose new rows hold every row of the days
                                they cover (unique_key and partition_by: the day column).
                                DuckDB: dbt's `delete+insert` (deletes the days present in the
                                new rows, inserts the rows). Spark: `insert_overwrite` (dbt-spark
                                overwrites the partition folders present in the new rows, with
                                spark.sql.sources.partitionOverwriteMode=dynamic, profiles.yml).
      delete_partitions(filter) the pre-hook of a model whose recomputed periods are a predicate
                                on its partition columns (period_increment_delete()): the model
                                then appends (strategy 'append' on both). DuckDB: `delete from`
                                with the predicate. Spark: `alter table ... drop partition` for
                                each stored partition the predicate selects. Both empty a
                                recomputed period that no longer has rows (days beyond a calendar
                                that moved back), which an overwrite alone would keep.
      partition_columns(cols)   `partition_by` for Spark (its table folders); none on DuckDB,
                                whose tables are not partitioned (its deletes prune by zone maps).

    The staging models keep the latest version of each key (macros/staging/latest_version.sql):
    an increment replaces single rows anywhere in history, by key, which DuckDB does with
    `delete+insert` on the key (upsert_strategy()). Plain Parquet tables on Spark have no row
    delete or merge (Delta or Iceberg would give `merge`), so there these models rebuild in full
    at every run (rebuild_in_full_without_row_delete(), their `full_refresh` config); the models
    after them stay incremental, as they read only the staging rows whose extract date is new.
-#}
{% macro partition_columns(columns) -%}
    {{ return(adapter.dispatch('partition_columns')(columns)) }}
{%- endmacro %}

{% macro default__partition_columns(columns) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__partition_columns(columns) -%}
    {{ return(columns) }}
{%- endmacro %}


{% macro replace_days_strategy() -%}
    {{ return(adapter.dispatch('replace_days_strategy')()) }}
{%- endmacro %}

{% macro default__replace_days_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__replace_days_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}


{% macro delete_partitions(filter) -%}
    {{ return(adapter.dispatch('delete_partitions')(filter)) }}
{%- endmacro %}

{% macro default__delete_partitions(filter) -%}
    delete from {{ this }} where {{ filter }}
{%- endmacro %}

{#- The stored partitions the filter selects, listed, then dropped in one statement (Spark's
    `drop partition` takes values, not a predicate). `filter` must read partition columns only. -#}
{% macro spark__delete_partitions(filter) -%}
    {%- set columns = config.get('partition_by') -%}
    {%- if not columns -%}
        {{ exceptions.raise_compiler_error("delete_partitions: model " ~ this
                                           ~ " has no partition_by (partition_columns([...]))") }}
    {%- endif -%}
    {%- set columns = [columns] if columns is string else columns -%}
    {%- set listed = [] -%}
    {%- for c in columns -%}
        {%- do listed.append("cast(" ~ c ~ " as string)") -%}
    {%- endfor -%}
    {%- set found = run_query("select distinct " ~ listed | join(", ") ~ " from " ~ this
                              ~ " where " ~ filter) if execute else none -%}
    {%- set specs = [] -%}
    {%- for row in (found.rows if found is not none else []) -%}
        {%- set parts = [] -%}
        {%- for c in columns -%}
            {#- a null partition value has no literal a partition spec takes: refuse, not skip -#}
            {%- if row[loop.index0] is none -%}
                {{ exceptions.raise_compiler_error("delete_partitions: model " ~ this ~ " holds rows with "
                                                   ~ c ~ " null in the periods it recomputes") }}
            {%- endif -%}
            {%- do parts.append(c ~ " = '" ~ row[loop.index0] ~ "'") -%}
        {%- endfor -%}
        {%- do specs.append("partition (" ~ parts | join(", ") ~ ")") -%}
    {%- endfor -%}
    {%- if specs -%}
        alter table {{ this }} drop if exists {{ specs | join(", ") }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{#- never applied (these models rebuild in full on Spark); dbt-spark checks the config anyway -#}
{% macro spark__upsert_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{% macro rebuild_in_full_without_row_delete() -%}
    {{ return(adapter.dispatch('rebuild_in_full_without_row_delete')()) }}
{%- endmacro %}

{% macro default__rebuild_in_full_without_row_delete() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__rebuild_in_full_without_row_delete() -%}
    {{ return(true) }}
{%- endmacro %}
