{#-
    on-run-start hook (dbt_project.yml): drop relations a killed run left behind.

    dbt builds a table as `<model>__dbt_tmp`, renames the old one to `<model>__dbt_backup`,
    swaps and drops the backup. A run killed between those steps (SIGKILL, OOM killer, a lost
    machine) can leave either in the warehouse, where they would be published and counted.
    Only the warehouse's own catalog is touched; DuckDB temp tables are gone with the session.
-#}
{% macro drop_leftover_relations() %}
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
