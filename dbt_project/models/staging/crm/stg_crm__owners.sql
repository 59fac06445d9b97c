{#- One row per owner_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'owner_id',
    'owner_name',
    'email',
    'team',
] -%}

with

source as (

    select * from {{ source('crm', 'owners') }}

),

typed as (

    select
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(owner_name as {{ dbt.type_string() }}) as owner_name,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(team as {{ dbt.type_string() }}) as team,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='owner_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
