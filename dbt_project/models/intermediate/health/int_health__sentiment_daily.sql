{#-
    One row per account per score date with at least one survey response known that day in the
    last vars.chw.health.components.sentiment.window_days days: mean normalized sentiment
    (0-100) of those responses (NPS, CSAT, CES alike). Accounts without such responses have no
    row (the component is missing, not zero).
-#}
{%- set w = var('chw')['health']['components']['sentiment']['window_days'] -%}

with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

responses as (

    select * from {{ ref('int_health__survey_responses') }}

),

score_dates as (

    select account_id, day from account_days where is_score_date

),

final as (

    select
        score_dates.account_id,
        score_dates.day as as_of_date,
        cast(round(cast(avg(responses.sentiment_score) as {{ rounding_type() }}), 6) as {{ type_double() }}) as sentiment_avg,
        cast(count(*) as bigint) as responses_in_window
    from score_dates
    inner join responses
        on score_dates.account_id = responses.account_id
        and responses.known_date <= score_dates.day
        and responses.responded_date > {{ dbt.dateadd('day', -w, 'score_dates.day') }}
    where responses.sentiment_score is not null
    group by score_dates.account_id, score_dates.day

)

select * from final
