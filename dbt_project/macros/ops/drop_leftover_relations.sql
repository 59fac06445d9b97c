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

    The same sweep drops the relations no node of the project builds any more: in the schemas
    the models and seeds build into, a table or view that is neither a node's relation nor the
    bookkeeping of one (`<model>__increment_cutoff`, `<model>__increment_state`) was left by a
    model since renamed or removed (the intermediate models' names follow docs/ARCHITECTURE.md
    "dbt names"), and an existing warehouse would otherwise keep it and its bookkeeping. Other
    schemas (the sources' views on Spark, anything a user added beside) are left alone.
-#}
{% macro drop_leftover_relations() %}
    {{ return(adapter.dispatch('drop_leftover_relations')()) }}
{% endmacro %}

{#- The project's own relations: {'schemas': [schema, ...], 'kept': {'schema.name': true}}, lower case. -#}
{% macro project_relations() %}
    {%- set schemas = [] -%}
    {%- set kept = {} -%}
    {%- set books = bookkeeping_schema() | lower -%}
    {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot') -%}
        {%- set schema = node.schema | lower -%}
        {%- set name = (node.alias or node.name) | lower -%}
        {%- do schemas.append(schema) if schema not in schemas -%}
        {%- do kept.update({schema ~ '.' ~ name: true,
                            books ~ '.' ~ name ~ '__increment_cutoff': true,
                            books ~ '.' ~ name ~ '__increment_state': true}) -%}
    {%- endfor -%}
    {{ return({'schemas': schemas, 'kept': kept}) }}
{% endmacro %}

{#- Why a relation of the project's schemas is to go ('' when it stays). -#}
{% macro leftover_reason(schema, name, project) %}
    {%- if '__dbt_tmp' in name or '__dbt_backup' in name -%}
        {{ return('from an interrupted run') }}
    {%- elif (schema | lower) in project['schemas'] and ((schema ~ '.' ~ name) | lower) not in project['kept'] -%}
        {{ return('no model builds it any more') }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{% macro default__drop_leftover_relations() %}
    {%- if execute -%}
        {%- set project = project_relations() -%}
        {%- set found = run_query(
            "select table_schema, table_name, table_type from information_schema.tables "
            ~ "where table_catalog = current_database()"
        ) -%}
        {%- for row in found.rows -%}
            {%- set reason = leftover_reason(row[0], row[1], project) -%}
            {%- if reason -%}
                {%- set kind = 'view' if row[2] == 'VIEW' else 'table' -%}
                {%- do log("dropping leftover " ~ kind ~ " " ~ row[0] ~ "." ~ row[1] ~ " (" ~ reason ~ ")", info=true) -%}
                {%- do run_query("drop " ~ kind ~ " if exists " ~ adapter.quote(row[0]) ~ "." ~ adapter.quote(row[1])) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}

{#- Spark has no information_schema: the project's schemas, table by table (`show tables`,
    `show views` for the kind). -#}
{% macro spark__drop_leftover_relations() %}
    {%- if execute -%}
        {%- set project = project_relations() -%}
        {%- set schemas = run_query("show databases").columns[0].values() -%}
        {%- for schema in schemas -%}
            {%- set views = run_query("show views in " ~ schema).columns[1].values() | map('lower') | list -%}
            {%- for row in run_query("show tables in " ~ schema).rows if not row[2] -%}
                {%- set reason = leftover_reason(schema, row[1], project) -%}
                {%- if reason -%}
                    {%- set kind = 'view' if (row[1] | lower) in views else 'table' -%}
                    {%- do log("dropping leftover " ~ kind ~ " " ~ schema ~ "." ~ row[1] ~ " (" ~ reason ~ ")", info=true) -%}
                    {%- do run_query("drop " ~ kind ~ " if exists " ~ schema ~ "." ~ row[1]) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}
