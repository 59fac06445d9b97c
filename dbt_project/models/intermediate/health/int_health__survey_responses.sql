{#-
    One row per survey response, with its survey's metric and scale, normalized and classified:
    the one place this area turns a raw score into NPS classes, CSAT boxes, effort and a 0-100
    sentiment value (used by the sentiment component, the survey alerts, the closed-loop
    metrics and the comment themes).

    - NPS: promoter 9-10, detractor 0..alerts.nps_detractor.max_score; sentiment = score x 10.
    - CSAT: satisfied = top two boxes of the declared scale; bottom boxes (alerts.low_csat) flag
      low CSAT; sentiment = (score - min) / (max - min) x 100.
    - CES: effort on 1-7 with 1 = least effort (a higher_is_better survey is mapped by 8 - score);
      high effort = effort >= alerts.high_effort_repeat.min_effort; sentiment = (7 - effort) / 6 x 100.
    known_date: the day the response was known (its first extract, never before it happened).
    A score outside its survey's declared scale, or a non-integer NPS, is a scale-consistency
    failure (docs/contract.md): it is left out here rather than scored.
-#}
{%- set alerts = var('chw')['alerts'] -%}

with

responses as (

    select * from {{ ref('stg_survey__responses') }}

),

surveys as (

    select * from {{ ref('stg_survey__surveys') }}

),

joined as (

    select
        responses.response_id,
        responses.survey_id,
        responses.account_id,
        responses.contact_id,
        responses.comment,
        responses.score,
        responses.responded_at,
        cast(responses.responded_at as date) as responded_date,
        case
            when responses.first_extract_date > cast(responses.responded_at as date) then responses.first_extract_date
            else cast(responses.responded_at as date)
        end as known_date,
        surveys.metric,
        surveys.trigger as touchpoint,
        surveys.channel,
        surveys.owner_team,
        surveys.scale_min,
        surveys.scale_max,
        coalesce(surveys.higher_is_better, false) as higher_is_better
    from responses
    inner join surveys
        on responses.survey_id = surveys.survey_id
    where responses.score is not null
        and responses.responded_at is not null
        and responses.score >= surveys.scale_min
        and responses.score <= surveys.scale_max
        and (surveys.metric <> 'nps' or responses.score = floor(responses.score))

),

classified as (

    select
        *,
        case
            when metric = 'ces' and higher_is_better then 8 - score
            when metric = 'ces' then score
        end as effort
    from joined

),

final as (

    select
        response_id,
        survey_id,
        account_id,
        contact_id,
        metric,
        touchpoint,
        channel,
        owner_team,
        score,
        effort,
        responded_at,
        responded_date,
        known_date,
        cast(case
            when metric = 'nps' then score * 10
            when metric = 'csat' and scale_max > scale_min
                then (score - scale_min) * cast(100 as double) / (scale_max - scale_min)
            when metric = 'ces' then (7 - effort) * cast(100 as double) / 6
        end as {{ type_double() }}) as sentiment_score,
        metric = 'nps' and score >= 9 as is_promoter,
        metric = 'nps' and score <= {{ alerts['nps_detractor']['max_score'] }} as is_detractor,
        metric = 'csat' and score >= scale_max - 1 as is_csat_satisfied,
        metric = 'csat' and score <= scale_min + {{ alerts['low_csat']['bottom_boxes'] }} - 1 as is_low_csat,
        metric = 'ces' and effort >= {{ alerts['high_effort_repeat']['min_effort'] }} as is_high_effort,
        comment
    from classified

)

select * from final
