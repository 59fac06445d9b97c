{#- One row per feature_key: the latest version (snapshot entity). -#}
{%- set columns = [
    'feature_key',
    'event_name',
    'feature_name',
    'is_core',
] -%}

with

source as (

    select * from {{ source('product', 'features') }}

),

typed as (

    select
        feature_key,
        event_name,
        feature_name,
        is_core,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='feature_key',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
