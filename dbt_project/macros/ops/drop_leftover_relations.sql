{#-
    on-run-start and on-run-end hook (dbt_project.yml): drop relations a killed or failed run
    left behind.

    dbt builds a table as `<model>__dbt_tmp`, renames the old one to `<model>__dbt_backup`,
    swaps, commits and then drops the backup. A run killed between those steps (SIGKILL, OOM
    killer, a lost machine) can leave either in the warehouse, where they would be published and
    counted: the next run's start drops them. A run that fails there without being killed (DuckDB
    out of memory in the drop itself, seen once under a 10MB limit: `stg_crm__owners__dbt_backup`)
    goes on to its end hook, which drops them at once.
    Only the warehouse's own catalog is touched; DuckDB temp tables are gone with the session.
-#}
{% macro drop_leftover_relations() %}
    {{ return(adapter.dispatch('drop_leftover_relations')()) }}
{% endmacro %}

{% macro default__drop_leftover_relations() %}
    {%- if execute -%}
        {%- set found = run_query(
            "select table_schema, table_name, table_type from information_schema.tables "
            ~ "where table_catalog = current_database() "
            ~ "and (" ~ dbt.position("'__dbt_tmp'", "table_name") ~ " > 0 "
            ~ "or " ~ dbt.position("'__dbt_backup'", "table_name") ~ " > 0)"
        ) -%}
        {%- for row in found.rows -%}
            {%- set kind = 'view' if row[2] == 'VIEW' else 'table' -%}
            {%- do log("dropping leftover " ~ kind ~ " " ~ row[0] ~ "." ~ row[1] ~ " (from an interrupted run)", info=true) -%}
            {%- do run_query("drop " ~ kind ~ " if exists " ~ adapter.quote(row[0]) ~ "." ~ adapter.quote(row[1])) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}

{#- Spark has no information_schema: the project's schemas, table by table (`show tables`). -#}
{% macro spark__drop_leftover_relations() %}
    {%- if execute -%}
        {%- set schemas = run_query("show databases").columns[0].values() -%}
        {%- for schema in schemas -%}
            {%- for row in run_query("show tables in " ~ schema).rows -%}
                {%- set name = row[1] -%}
                {%- if not row[2] and ('__dbt_tmp' in name or '__dbt_backup' in name) -%}
                    {%- do log("dropping leftover relation " ~ schema ~ "." ~ name ~ " (from an interrupted run)", info=true) -%}
                    {%- do run_query("drop view if exists " ~ schema ~ "." ~ name) if 'view' in name else none -%}
                    {%- do run_query("drop table if exists " ~ schema ~ "." ~ name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}
