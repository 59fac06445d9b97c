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
        owner_id,
        owner_name,
        email,
        team,
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
