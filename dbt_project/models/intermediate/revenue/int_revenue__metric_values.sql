{#-
    Revenue family of marts.metric_values: every metric of int_revenue__period_metrics plus
    cltv = arpa_annual * average lifespan in years, lifespan = 1 / annual logo churn rate
    (annualized_logo_churn_pct / 100), where that rate is above 0. Month and quarter grains.
-#}
with

period_metrics as (

    select * from {{ ref('int_revenue__period_metrics') }}

),

arpa as (

    select * from period_metrics where metric = 'arpa_annual'

),

annual_churn as (

    select * from period_metrics where metric = 'annualized_logo_churn_pct'

),

cltv as (

    select
        'cltv' as metric,
        arpa.grain,
        arpa.period_start,
        arpa.window_days,
        arpa.segment_type,
        arpa.segment_value,
        arpa.value * (1 / (annual_churn.value / 100)) as value,
        cast(null as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        arpa.sample_size,
        cast(null as {{ type_double() }}) as ci_low,
        cast(null as {{ type_double() }}) as ci_high
    from arpa
    inner join annual_churn
        on arpa.grain = annual_churn.grain
        and arpa.period_start = annual_churn.period_start
        and arpa.segment_type = annual_churn.segment_type
        and arpa.segment_value = annual_churn.segment_value
    where annual_churn.value > 0

),

final as (

    select * from period_metrics
    union all
    select {{ metric_values_columns('cltv') }} from cltv

)

select * from final
