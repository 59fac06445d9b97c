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
        cast(activity_id as {{ dbt.type_string() }}) as activity_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(activity_type as {{ dbt.type_string() }}) as activity_type,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
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
