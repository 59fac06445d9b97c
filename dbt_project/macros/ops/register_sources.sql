{#-
    on-run-start hook (dbt_project.yml): make every source readable under its dbt name.

    The sources are Parquet files the pipeline writes (raw extracts, the audit log, the Python
    models' outputs), each named once, in its `external_location` (meta): DuckDB reads that
    expression where the source is used (dbt-duckdb), so nothing is registered there. Spark
    reads tables, so the Spark implementation creates a view `<source>.<table>` over the same
    files (the glob, not the folder: a folder of extract_date=... folders would add a partition
    column). On a cluster the raw layer would be external tables; the views keep the models'
    SQL the same either way.
-#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- if execute -%}
        {#- only the sources this invocation reads: the Python models' outputs do not exist yet
            when the first dbt step of a new warehouse runs, and Spark resolves a view's files
            when it is created -#}
        {%- set read = [] -%}
        {%- for node in graph.nodes.values() if node.unique_id in selected_resources -%}
            {%- for parent in node.depends_on.nodes if parent.startswith('source.') -%}
                {%- do read.append(parent) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set schemas = [] -%}
        {%- for node in graph.sources.values() if node.unique_id in read -%}
            {%- set location = node.config.get('meta', {}).get('external_location') or node.meta.get('external_location') -%}
            {%- set found = modules.re.search("read_parquet\\('([^']+)'", location or '') -%}
            {%- if found is none -%}
                {{ exceptions.raise_compiler_error("source " ~ node.source_name ~ "." ~ node.name
                    ~ ": no read_parquet('<path>') in its meta.external_location to register on " ~ adapter.type()) }}
            {%- endif -%}
            {%- if node.schema not in schemas -%}
                {%- do run_query("create database if not exists " ~ node.schema) -%}
                {%- do schemas.append(node.schema) -%}
            {%- endif -%}
            {%- do run_query("create or replace view " ~ node.schema ~ "." ~ node.identifier
                             ~ " as select * from parquet.`" ~ found.group(1) ~ "`") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
