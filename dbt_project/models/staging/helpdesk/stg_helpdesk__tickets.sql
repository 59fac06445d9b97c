{#- One row per ticket_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on ticket_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
    full_refresh=rebuild_in_full_without_row_delete(),
    unique_key='ticket_id',
    on_schema_change='fail',
    pre_hook="{{ record_increment_cutoff('extract_date') }}",
    post_hook="{{ delete_withdrawn_versions(source('helpdesk', 'tickets'), 'ticket_id') }}"
) }}
{%- set cutoff = incremental_cutoff('extract_date') -%}
{%- set columns = [
    'ticket_id',
    'account_id',
    'requester_contact_id',
    'channel',
    'category',
    'priority',
    'status',
    'created_at',
    'first_response_at',
    'solved_at',
    'updated_at',
    'assignee_id',
    'reopen_count',
    'escalated',
] -%}

with

source as (

    {{ incremental_source(source('helpdesk', 'tickets'), 'ticket_id', cutoff) }}

),

typed as (

    select
        ticket_id,
        account_id,
        requester_contact_id,
        channel,
        category,
        priority,
        status,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(solved_at as {{ dbt.type_timestamp() }}) as solved_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        assignee_id,
        reopen_count,
        escalated,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ incremental_latest_version(
        relation='typed',
        cutoff=cutoff,
        key='ticket_id',
        columns=columns,
        order_by_updated_at=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
