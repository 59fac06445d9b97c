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
        task_id,
        account_id,
        owner_id,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(completed_at as {{ dbt.type_timestamp() }}) as completed_at,
        related_type,
        related_id,
        outcome,
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
