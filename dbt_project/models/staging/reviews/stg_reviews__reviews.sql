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
        cast(review_id as {{ dbt.type_string() }}) as review_id,
        cast(platform as {{ dbt.type_string() }}) as platform,
        cast(rating as {{ type_double() }}) as rating,
        cast(rating_scale_max as {{ type_double() }}) as rating_scale_max,
        cast({{ redact_pii('title') }} as {{ dbt.type_string() }}) as title,
        cast({{ redact_pii('body') }} as {{ dbt.type_string() }}) as body,
        cast(reviewed_at as {{ dbt.type_timestamp() }}) as reviewed_at,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
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
