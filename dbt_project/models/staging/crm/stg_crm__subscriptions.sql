{#- One row per subscription_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'subscription_id',
    'account_id',
    'product',
    'start_date',
    'end_date',
    'mrr',
    'currency',
    'seats',
    'status',
] -%}

with

source as (

    select * from {{ source('crm', 'subscriptions') }}

),

typed as (

    select
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(product as {{ dbt.type_string() }}) as product,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(mrr as {{ type_double() }}) as mrr,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(seats as {{ dbt.type_int() }}) as seats,
        cast(status as {{ dbt.type_string() }}) as status,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='subscription_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
