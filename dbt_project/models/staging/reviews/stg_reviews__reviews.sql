{#- One row per review_id: the latest version (delta entity). -#}
{%- set columns = [
    'review_id',
    'platform',
    'rating',
    'rating_scale_max',
    'title',
    'body',
    'reviewed_at',
    'account_id',
] -%}

with

source as (

    select * from {{ source('reviews', 'reviews') }}

),

typed as (

    select
        review_id,
        platform,
        rating,
        rating_scale_max,
        {{ redact_pii('title') }} as title,
        {{ redact_pii('body') }} as body,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(reviewed_at as {{ dbt.type_timestamp() }}) as reviewed_at,
        account_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='review_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
