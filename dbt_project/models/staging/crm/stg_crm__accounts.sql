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
        account_id,
        account_name,
        industry,
        tier,
        region,
        plan,
        csm_owner_id,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
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
