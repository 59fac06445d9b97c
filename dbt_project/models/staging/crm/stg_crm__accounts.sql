{#- One row per account_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'account_id',
    'account_name',
    'industry',
    'tier',
    'region',
    'plan',
    'csm_owner_id',
    'created_at',
] -%}

with

source as (

    select * from {{ source('crm', 'accounts') }}

),

typed as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(plan as {{ dbt.type_string() }}) as plan,
        cast(csm_owner_id as {{ dbt.type_string() }}) as csm_owner_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='account_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
