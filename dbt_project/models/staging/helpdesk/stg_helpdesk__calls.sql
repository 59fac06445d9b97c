{#- One row per call_id: the latest version (delta entity). -#}
{%- set columns = [
    'call_id',
    'account_id',
    'queue',
    'offered_at',
    'answered_at',
    'ended_at',
    'abandoned',
] -%}

with

source as (

    select * from {{ source('helpdesk', 'calls') }}

),

typed as (

    select
        call_id,
        account_id,
        queue,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(offered_at as {{ dbt.type_timestamp() }}) as offered_at,
        cast(answered_at as {{ dbt.type_timestamp() }}) as answered_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        abandoned,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='call_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
