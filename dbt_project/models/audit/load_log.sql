with

source as (

    select * from {{ source('audit_files', 'load_log') }}

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(extract_date as date) as extract_date,
        cast(file as {{ dbt.type_string() }}) as file,
        cast(rows_in as {{ dbt.type_bigint() }}) as rows_in,
        cast(rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(coalesce(error, '') as {{ dbt.type_string() }}) as error
    from source

)

select * from final
