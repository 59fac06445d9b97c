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
        survey_id,
        metric,
        question,
        scale_min,
        scale_max,
        higher_is_better,
        trigger,
        channel,
        owner_team,
        index_item,
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
