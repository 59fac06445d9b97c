{#- One row per activity_id: the latest version (delta entity). -#}
{%- set columns = [
    'activity_id',
    'account_id',
    'activity_type',
    'occurred_at',
    'owner_id',
    'contact_id',
] -%}

with

source as (

    select * from {{ source('crm', 'activities') }}

),

typed as (

    select
        activity_id,
        account_id,
        activity_type,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        owner_id,
        contact_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='activity_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
