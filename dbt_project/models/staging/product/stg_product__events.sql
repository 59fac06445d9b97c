{#- One row per event_id: the latest version (delta entity). -#}
{%- set columns = [
    'event_id',
    'account_id',
    'user_id',
    'event_name',
    'occurred_at',
    'properties',
] -%}

with

source as (

    select * from {{ source('product', 'events') }}

),

typed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(properties as {{ dbt.type_string() }}) as properties,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='event_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
