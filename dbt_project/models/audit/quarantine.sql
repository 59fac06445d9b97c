with

source as (

    select * from {{ source('audit_files', 'quarantine') }}

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(extract_date as date) as extract_date,
        cast(file as {{ dbt.type_string() }}) as file,
        cast(row_number as {{ dbt.type_bigint() }}) as row_number,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(record as {{ dbt.type_string() }}) as record
    from source

)

select * from final
