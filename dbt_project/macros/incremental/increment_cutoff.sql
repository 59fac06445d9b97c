{#-
    The cutoff an incremental model used in its last build, kept for the tests that check only
    what that build wrote (tests/generic/unique_in_increment.sql, table_checks.sql) and for the model's post-hooks
    (delete_withdrawn_versions, macros/staging/latest_version.sql).

    record_increment_cutoff(column)
        Pre-hook of a model whose increments follow incremental_cutoff(column): stores the
        cutoff this build uses (null in a full build) in `intermediate.<model>__increment_cutoff`.
        A pre-hook sees the table before the build, so it computes the model's own cutoff; it
        runs in the model's transaction, so a failed build keeps the previous value.
    recorded_increment_cutoff(relation=none)
        That value as a date literal, for the model's post-hooks (they run after the build, when
        incremental_cutoff() would see the rows it just wrote) and, with `relation`, for a test
        of that model (unique_in_increment, table_checks with changed_column): none after a full
        build, or for a model that never recorded one.
    increment_cutoff_relation(relation)
        Where that value is kept: the bookkeeping schema.
    bookkeeping_schema()
        The schema of the incremental models' bookkeeping (these cutoffs, the period_increment
        snapshots): the intermediate schema, whatever the model's (a mart's bookkeeping must not
        be published with the marts).
    create_bookkeeping_schema()
        on-run-start hook (dbt_project.yml): creates that schema before any model runs. A build
        of the staging layer alone does not create it, and two pre-hooks creating it at once on
        dbt's two threads fail in DuckDB ("Catalog write-write conflict on create"; seen in CI
        when the tickets and events models started together).
-#}
{% macro bookkeeping_schema() -%}
    {{ return(generate_schema_name('intermediate', none)) }}
{%- endmacro %}

{% macro increment_cutoff_relation(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=bookkeeping_schema(),
                                  identifier=relation.identifier ~ '__increment_cutoff', type='table')) }}
{%- endmacro %}

{% macro record_increment_cutoff(column) -%}
    {%- if execute -%}
        {%- set cutoff = incremental_cutoff(column) -%}
        {%- set state = increment_cutoff_relation(this) -%}
        {{ replace_table_as(state, "select cast(" ~ (cutoff if cutoff is not none else 'null') ~ " as date) as cutoff") }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro create_bookkeeping_schema() -%}
    {%- if execute -%}
        {%- do adapter.create_schema(api.Relation.create(database=(target.database if target.database is defined else none), schema=bookkeeping_schema())) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{% macro recorded_increment_cutoff(relation=none) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = increment_cutoff_relation(relation if relation is not none else this) -%}
    {%- if not table_exists(state) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query("select cast(cutoff as " ~ dbt.type_string() ~ ") from " ~ state) -%}
    {%- set cutoff = result.columns[0].values()[0] if result.rows | length > 0 else none -%}
    {{ return(none if cutoff is none else "cast('" ~ cutoff[:10] ~ "' as date)") }}
{%- endmacro %}
