{#-
    Health metrics of docs/metrics.md in the long format of marts.metric_values:
    health_score_avg (mean health score) and at_risk_accounts (accounts with is_at_risk).
    Grain day: the accounts scored that day. Grains week and month: each account's last score
    in the period (a period-end view, so an account counts once). Segments: all, tier,
    csm_owner (as of the score date).
-#}
{%- set min_n = var('chw')['min_sample_size'] -%}
{%- set grains = ['day', 'week', 'month'] -%}
{%- set segments = {'all': "'all'", 'tier': 'tier', 'csm_owner': 'csm_owner_id'} -%}

with

account_health as (

    select * from {{ ref('account_health') }}

),

periods as (

    {%- for grain in grains %}
    select
        '{{ grain }}' as grain,
        cast({{ dbt.date_trunc(grain, 'as_of_date') }} as date) as period_start,
        account_health.*
    from account_health
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

period_end as (

    select
        *,
        row_number() over (partition by grain, period_start, account_id order by as_of_date desc) as recency
    from periods

),

latest as (

    select * from period_end where recency = 1

),

aggregated as (

    {%- for segment_type, expression in segments.items() %}
    select
        grain,
        period_start,
        '{{ segment_type }}' as segment_type,
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), 'unknown') as segment_value,
        {#- exact decimal sums: a double sum depends on the engine's (parallel) adding order,
            which would change the last bits between re-runs of the same data -#}
        sum(cast(health_score as {{ metric_exact_type() }})) / nullif(count(health_score), 0) as score_avg,
        sum(cast(health_score as {{ metric_exact_type() }})) as score_sum,
        count(health_score) as scored,
        sum(case when is_at_risk then 1 else 0 end) as at_risk,
        count(*) as accounts
    from latest
    group by 1, 2, 3, 4
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        cast('health_score_avg' as {{ dbt.type_string() }}) as metric,
        cast(grain as {{ dbt.type_string() }}) as grain,
        period_start,
        cast(null as integer) as window_days,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(round(cast(score_avg as {{ rounding_type() }}), 4) as {{ type_double() }}) as value,
        cast(score_sum as {{ type_double() }}) as numerator,
        cast(scored as {{ type_double() }}) as denominator,
        cast(scored as bigint) as sample_size,
        cast(null as {{ type_double() }}) as ci_low,
        cast(null as {{ type_double() }}) as ci_high,
        scored < {{ min_n }} as is_low_sample
    from aggregated
    union all
    select
        'at_risk_accounts',
        grain,
        period_start,
        cast(null as integer),
        segment_type,
        segment_value,
        cast(at_risk as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        cast(accounts as bigint),
        cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        accounts < {{ min_n }}
    from aggregated

)

select * from final
