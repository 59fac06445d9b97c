{#- One row per milestone_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'milestone_id',
    'account_id',
    'milestone_name',
    'sequence',
    'planned_date',
    'completed_date',
    'owner_id',
] -%}

with

source as (

    select * from {{ source('crm', 'milestones') }}

),

typed as (

    select
        cast(milestone_id as {{ dbt.type_string() }}) as milestone_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(milestone_name as {{ dbt.type_string() }}) as milestone_name,
        cast(sequence as {{ dbt.type_int() }}) as sequence,
        cast(planned_date as date) as planned_date,
        cast(completed_date as date) as completed_date,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='milestone_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
