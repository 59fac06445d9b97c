{#-
    One row per metric, segment and review period that has come due under the metric's cadence
    (vars.chw.program): the period's value, the previous period's, the change, and whether the
    threshold is breached. See _program__models.yml.
-#}
{%- set metrics = program_metrics() -%}
{%- set program = var('chw')['program'] -%}
{%- set string = dbt.type_string() -%}
{%- set double = type_double() -%}
{%- set bigint = dbt.type_bigint() -%}
{%- set common_segments = program['review_segment_types'] -%}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

metric_values as (

    select * from {{ ref('metric_values') }}

),

catalog as (

    select * from {{ ref('metric_catalog') }}

),

periods as (

    select * from {{ ref('int_calendar__periods') }}

),

-- the reviewed segments: review_segment_types for every metric, plus its threshold's own
reviewed_values as (

    select
        metric_values.*,
        case catalog.cadence
            when 'weekly' then 'week'
            when 'monthly' then 'month'
            when 'quarterly' then 'quarter'
        end as cadence_grain
    from metric_values
    inner join catalog
        on metric_values.metric = catalog.metric
    -- a rolling value is read only where its window ends on the last day of a review period
    where (metric_values.grain in ('week', 'month', 'quarter')
            or (metric_values.grain = 'rolling'
                and metric_values.period_start = case catalog.cadence
                    {%- for cadence, grain in [('weekly', 'week'), ('monthly', 'month'), ('quarterly', 'quarter')] %}
                    when '{{ cadence }}' then {{ metric_period_end(grain, metric_trunc(grain, 'metric_values.period_start')) }}
                    {%- endfor %}
                end))
        and (metric_values.segment_type in ('{{ common_segments | join("', '") }}')
        {%- for metric, cfg in metrics.items() if cfg['threshold'] %}
            or (metric_values.metric = '{{ metric }}'
                and metric_values.segment_type in ('{{ cfg['threshold']['segment_types'] | join("', '") }}'))
        {%- endfor %}
        )

),

-- a period's value is the metric's row of the cadence's grain; a metric without that grain
-- (surveys_per_contact_90d: rolling only) is read from its shortest rolling window ending on
-- the period's last day
value_sources as (

    select
        metric,
        cadence_grain,
        max(case when grain = cadence_grain then 1 else 0 end) = 1 as has_cadence_grain,
        min(case when grain = 'rolling' then window_days end) as shortest_window_days
    from reviewed_values
    group by metric, cadence_grain

),

period_values as (

    select
        reviewed_values.metric,
        reviewed_values.segment_type,
        reviewed_values.segment_value,
        reviewed_values.grain,
        reviewed_values.window_days,
        reviewed_values.period_start as value_date,
        reviewed_values.value,
        reviewed_values.sample_size,
        reviewed_values.is_low_sample
    from reviewed_values
    inner join value_sources
        on reviewed_values.metric = value_sources.metric
    where (value_sources.has_cadence_grain and reviewed_values.grain = value_sources.cadence_grain)
        or (not value_sources.has_cadence_grain
            and reviewed_values.grain = 'rolling'
            and reviewed_values.window_days = value_sources.shortest_window_days)

),

-- every metric and segment is reviewed from the period of its first value on, every period
series as (

    select
        metric,
        segment_type,
        segment_value,
        min(value_date) as first_value_date
    from period_values
    group by metric, segment_type, segment_value

),

review_periods as (

    select
        series.metric,
        series.segment_type,
        series.segment_value,
        catalog.owner_team,
        catalog.cadence,
        catalog.direction,
        catalog.threshold,
        catalog.threshold_min_sample,
        catalog.review_due_days,
        value_sources.has_cadence_grain,
        periods.period_start,
        periods.period_end
    from series
    inner join catalog
        on series.metric = catalog.metric
    inner join value_sources
        on series.metric = value_sources.metric
    inner join periods
        on periods.grain = value_sources.cadence_grain
        and periods.is_complete
        and periods.period_end >= series.first_value_date

),

reviews as (

    select
        review_periods.*,
        period_values.value,
        period_values.sample_size,
        period_values.is_low_sample as value_is_low_sample,
        lag(period_values.value) over (
            partition by review_periods.metric, review_periods.segment_type, review_periods.segment_value
            order by review_periods.period_start
        ) as previous_value,
        row_number() over (
            partition by review_periods.metric, review_periods.segment_type, review_periods.segment_value
            order by review_periods.period_start desc
        ) as recency
    from review_periods
    left join period_values
        on review_periods.metric = period_values.metric
        and review_periods.segment_type = period_values.segment_type
        and review_periods.segment_value = period_values.segment_value
        and period_values.value_date = case
            when review_periods.has_cadence_grain then review_periods.period_start
            else review_periods.period_end
        end

),

-- low sample: fewer observations than the threshold's min_sample where there is one, else
-- metric_values' own flag; a period without a value is low sample and never breached
flagged as (

    select
        *,
        case
            when value is null then true
            when threshold_min_sample is not null then coalesce(sample_size, 0) < threshold_min_sample
            else coalesce(value_is_low_sample, false)
        end as is_low_sample
    from reviews

),

final as (

    select
        cast(metric as {{ string }}) as metric,
        cast(segment_type as {{ string }}) as segment_type,
        cast(segment_value as {{ string }}) as segment_value,
        cast(owner_team as {{ string }}) as owner_team,
        cast(cadence as {{ string }}) as cadence,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast({{ dbt.dateadd('day', 'review_due_days', 'period_end') }} as date) as due_date,
        cast(value as {{ double }}) as value,
        cast(previous_value as {{ double }}) as previous_value,
        cast(value - previous_value as {{ double }}) as change,
        cast(coalesce(sample_size, 0) as {{ bigint }}) as sample_size,
        cast(threshold as {{ double }}) as threshold,
        cast(direction as {{ string }}) as direction,
        cast(coalesce(
            threshold is not null
            and not is_low_sample
            and {{ threshold_breached('value', 'threshold', 'direction') }},
            false
        ) as {{ dbt.type_boolean() }}) as is_breached,
        cast(is_low_sample as {{ dbt.type_boolean() }}) as is_low_sample,
        cast(recency = 1 as {{ dbt.type_boolean() }}) as is_latest_period
    from flagged

)

select * from final
