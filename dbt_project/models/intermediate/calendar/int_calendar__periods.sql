{#-
    One row per calendar period of grain day, week (Monday start), month and quarter:
    period_start, period_end (the period's last day, or the calendar's last day while the period
    is still running) and is_complete (the period's last day is in the calendar). Stock metrics
    (MRR at period end, open tickets, usage windows) are measured at period_end.
-#}
with

days as (

    select * from {{ ref('int_calendar__days') }}

),

day_periods as (

    select
        'day' as grain,
        date_day as period_start,
        date_day as period_end,
        true as is_complete
    from days

),

{%- for grain in ['week', 'month', 'quarter'] %}

{{ grain }}_periods as (

    select
        '{{ grain }}' as grain,
        {{ metric_trunc(grain, 'date_day') }} as period_start,
        max(date_day) as period_end,
        max(date_day) = {{ metric_period_end(grain, metric_trunc(grain, 'date_day')) }} as is_complete
    from days
    group by {{ metric_trunc(grain, 'date_day') }}

),
{%- endfor %}

final as (

    select * from day_periods
    {%- for grain in ['week', 'month', 'quarter'] %}
    union all
    select * from {{ grain }}_periods
    {%- endfor %}

)

select * from final
