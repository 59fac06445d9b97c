{#-
    One row per piece of customer text (survey comment or review) per theme it mentions. The text
    itself is not carried: only ids, the theme, the phrase that matched first and whether the
    feedback was negative. Matching: ' ' || lower(text) contains a phrase of seed
    theme_keywords (a phrase starting with a space only matches at the start of a word).
-#}
{%- set alerts = var('chw')['alerts'] -%}

with

responses as (

    select * from {{ ref('int_health__survey_responses') }}

),

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

keywords as (

    select
        lower(theme) as theme,
        lower(phrase) as phrase
    from {{ ref('theme_keywords') }}
    where phrase is not null
        and trim(phrase) <> ''

),

texts as (

    select
        'survey_response' as text_type,
        response_id as text_id,
        account_id,
        responded_at as occurred_at,
        metric as signal_metric,
        is_detractor or is_low_csat or is_high_effort as is_negative,
        {{ dbt.concat(["' '", "lower(comment)"]) }} as text_lower
    from responses
    where comment is not null
        and comment <> ''
    union all
    select
        'review',
        review_id,
        account_id,
        reviewed_at,
        'review',
        rating * cast(5 as double) / rating_scale_max <= 2,
        lower({{ dbt.concat(["' '", "coalesce(title, '')", "' '", "coalesce(body, '')"]) }})
    from reviews
    where coalesce(title, body) is not null
        and rating_scale_max > 0

),

matched as (

    select
        texts.text_type,
        texts.text_id,
        texts.account_id,
        texts.occurred_at,
        texts.signal_metric,
        texts.is_negative,
        keywords.theme,
        min(keywords.phrase) as matched_phrase
    from texts
    inner join keywords
        on texts.text_lower like {{ dbt.concat(["'%'", "keywords.phrase", "'%'"]) }}
    group by 1, 2, 3, 4, 5, 6, 7

),

final as (

    select
        cast(text_type as {{ dbt.type_string() }}) as text_type,
        cast(text_id as {{ dbt.type_string() }}) as text_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(signal_metric as {{ dbt.type_string() }}) as signal_metric,
        cast(theme as {{ dbt.type_string() }}) as theme,
        cast(matched_phrase as {{ dbt.type_string() }}) as matched_phrase,
        coalesce(is_negative, false) as is_negative
    from matched

)

select * from final
