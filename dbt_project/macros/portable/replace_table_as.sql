{#-
    replace_table_as(relation, sql): the statement that (re)creates `relation` as the result of
    `sql`, for hooks that keep a small table of their own (the incremental bookkeeping).

    table_exists(relation): whether the warehouse's catalogue holds `relation` now. Not dbt's
    relation cache: a hook that created the table with plain SQL is not in it.

    Dispatched by adapter: DuckDB has `create or replace table`; Spark over plain Parquet tables
    (no Delta) has not, so the old table is dropped first, and Spark has no information_schema.
-#}
{% macro replace_table_as(relation, sql) -%}
    {{ return(adapter.dispatch('replace_table_as')(relation, sql)) }}
{%- endmacro %}

{% macro default__replace_table_as(relation, sql) -%}
    create or replace table {{ relation }} as {{ sql }}
{%- endmacro %}

{% macro spark__replace_table_as(relation, sql) -%}
    {%- do run_query("drop table if exists " ~ relation) -%}
    create table {{ relation }} using parquet as {{ sql }}
{%- endmacro %}

{% macro table_exists(relation) -%}
    {{ return(adapter.dispatch('table_exists')(relation)) }}
{%- endmacro %}

{% macro default__table_exists(relation) -%}
    {%- set found = run_query(
        "select count(*) from information_schema.tables where table_catalog = current_database()"
        ~ " and table_schema = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
    ) -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{% macro spark__table_exists(relation) -%}
    {%- set found = run_query("show tables in " ~ relation.schema ~ " like '" ~ relation.identifier ~ "'") -%}
    {{ return(found.rows | length > 0) }}
{%- endmacro %}
