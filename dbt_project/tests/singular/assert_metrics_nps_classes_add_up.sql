{#- Promoters + passives + detractors = NPS responses: in every NPS response of
    fct_survey_responses (one class each), and in every metric_values row (nps, promoter and
    detractor shares rest on the same responses; nps = promoter % - detractor %). -#}
with

responses as (

    select * from {{ ref('fct_survey_responses') }}
    where survey_metric = 'nps'

),

metric_values as (

    select * from {{ ref('metric_values') }}

),

unclassified_responses as (

    select
        'response without exactly one NPS class' as failure,
        response_id as detail
    from responses
    where nps_class is null or nps_class not in ('promoter', 'passive', 'detractor')

),

nps as (

    select * from metric_values where metric = 'nps'

),

promoters as (

    select * from metric_values where metric = 'nps_promoter_pct'

),

detractors as (

    select * from metric_values where metric = 'nps_detractor_pct'

),

inconsistent_rows as (

    select
        'nps row inconsistent with its promoter and detractor rows' as failure,
        {{ dbt.concat(['nps.grain', "' '", dbt.cast('nps.period_start', dbt.type_string()), "' '", 'nps.segment_type', "' '", 'nps.segment_value']) }} as detail
    from nps
    left join promoters
        on nps.grain = promoters.grain
        and nps.period_start = promoters.period_start
        and coalesce(nps.window_days, 0) = coalesce(promoters.window_days, 0)
        and nps.segment_type = promoters.segment_type
        and nps.segment_value = promoters.segment_value
    left join detractors
        on nps.grain = detractors.grain
        and nps.period_start = detractors.period_start
        and coalesce(nps.window_days, 0) = coalesce(detractors.window_days, 0)
        and nps.segment_type = detractors.segment_type
        and nps.segment_value = detractors.segment_value
    where
        promoters.metric is null
        or detractors.metric is null
        or nps.sample_size <> promoters.sample_size
        or nps.sample_size <> detractors.sample_size
        -- passives = responses - promoters - detractors, never negative
        or nps.denominator - promoters.numerator - detractors.numerator < 0
        or abs(nps.numerator - (promoters.numerator - detractors.numerator)) > 1e-9
        or abs(nps.value - (promoters.value - detractors.value)) > 1e-6

),

final as (

    select * from unclassified_responses
    union all
    select * from inconsistent_rows

)

select * from final
