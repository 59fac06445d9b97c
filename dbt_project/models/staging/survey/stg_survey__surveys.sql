{#- One row per survey_id: the latest version (snapshot entity). -#}
{%- set columns = [
    'survey_id',
    'metric',
    'question',
    'scale_min',
    'scale_max',
    'higher_is_better',
    'trigger',
    'channel',
    'owner_team',
    'index_item',
] -%}

with

source as (

    select * from {{ source('survey', 'surveys') }}

),

typed as (

    select
        cast(survey_id as {{ dbt.type_string() }}) as survey_id,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(question as {{ dbt.type_string() }}) as question,
        cast(scale_min as {{ dbt.type_int() }}) as scale_min,
        cast(scale_max as {{ dbt.type_int() }}) as scale_max,
        cast(higher_is_better as {{ dbt.type_boolean() }}) as higher_is_better,
        cast(trigger as {{ dbt.type_string() }}) as trigger,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(owner_team as {{ dbt.type_string() }}) as owner_team,
        cast(index_item as {{ dbt.type_string() }}) as index_item,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='survey_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
