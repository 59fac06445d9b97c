{#- One row per comment_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on comment_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
    full_refresh=rebuild_in_full_without_row_delete(),
    unique_key='comment_id',
    on_schema_change='fail',
    pre_hook="{{ record_increment_cutoff('extract_date') }}",
    post_hook="{{ delete_withdrawn_versions(source('helpdesk', 'ticket_comments'), 'comment_id') }}"
) }}
{%- set cutoff = incremental_cutoff('extract_date') -%}
{%- set columns = [
    'comment_id',
    'ticket_id',
    'author_type',
    'created_at',
    'is_public',
] -%}

with

source as (

    {{ incremental_source(source('helpdesk', 'ticket_comments'), 'comment_id', cutoff) }}

),

typed as (

    select
        comment_id,
        ticket_id,
        author_type,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        is_public,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ incremental_latest_version(
        relation='typed',
        cutoff=cutoff,
        key='comment_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
