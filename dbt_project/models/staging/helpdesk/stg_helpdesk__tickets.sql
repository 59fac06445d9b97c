{#- One row per ticket_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on ticket_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
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
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(requester_contact_id as {{ dbt.type_string() }}) as requester_contact_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(priority as {{ dbt.type_string() }}) as priority,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(solved_at as {{ dbt.type_timestamp() }}) as solved_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(assignee_id as {{ dbt.type_string() }}) as assignee_id,
        cast(reopen_count as {{ dbt.type_int() }}) as reopen_count,
        cast(escalated as {{ dbt.type_boolean() }}) as escalated,
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
