{#- One row per contact_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'contact_id',
    'account_id',
    'email',
    'full_name',
    'role',
    'created_at',
] -%}

with

source as (

    select * from {{ source('crm', 'contacts') }}

),

typed as (

    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(full_name as {{ dbt.type_string() }}) as full_name,
        cast(role as {{ dbt.type_string() }}) as role,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='contact_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
