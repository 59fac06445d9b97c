{#- One row per task_id: the latest version (delta entity). -#}
{%- set columns = [
    'task_id',
    'account_id',
    'owner_id',
    'created_at',
    'completed_at',
    'related_type',
    'related_id',
    'outcome',
] -%}

with

source as (

    select * from {{ source('crm', 'tasks') }}

),

typed as (

    select
        cast(task_id as {{ dbt.type_string() }}) as task_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        cast(related_type as {{ dbt.type_string() }}) as related_type,
        cast(related_id as {{ dbt.type_string() }}) as related_id,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='task_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
