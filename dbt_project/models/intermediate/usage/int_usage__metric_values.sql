{#-
    Usage metrics of docs/metrics.md in the long format of marts.metric_values:
      active_users          distinct users (account_id + user_id) with an event in the period;
                            every grain, rolling windows included
      feature_adoption_pct  over active account-days (a subscription covers the day): core
                            features used in the last vars.chw.metrics.adoption_window_days days
                            / core features * 100, summed over the period's account-days (a
                            day's value is the mean across accounts; a month's is the mean over
                            its account-days). Grains day, week, month, quarter
      usage_change_pct      events in the N days ending at the period end vs the N days before
                            (N = vars.chw.metrics.usage_change_window_days), summed over
                            accounts: 100 * last / before - 100; numerator = events in the last
                            N days, denominator = events in the N before. Grains day, week,
                            month, quarter (measured at each period's end)
    Segments: account attributes as of the observation's day (usage_change: the period end).

    Incremental by period (macros/incremental/period_increment.sql): a run recomputes the periods
    from the first day that new or re-sent events, a segment or subscription change or the
    calendar's new days reach, and reads the observations those periods need; the rest of
    history keeps its rows. At preset M this model rebuilt 365 days of user-days every run (240 s).
-#}
{%- set cfg = var('chw') -%}
{%- set segments = cfg['segments']['account'] -%}
{%- set stock_grains = cfg['metrics']['grains'] | reject('equalto', 'rolling') | list -%}
{%- set change_days = cfg['metrics']['usage_change_window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['grain', 'period_start']),
    period_increment={
        'watermarked': [
            {'model': 'int_usage__user_days', 'day': 'activity_date', 'extract': 'last_extract_date'},
            {'model': 'int_usage__account_feature_days', 'day': 'activity_date', 'extract': 'last_extract_date'},
            {'model': 'stg_product__event_day_moves', 'day': 'event_date', 'extract': 'extract_date'},
        ],
        'intervals': period_increment_intervals(['segments', 'subscriptions', 'core_features']),
        'grains': cfg['metrics']['grains'],
        'reach_days': [cfg['rolling_windows'] | max - 1, 2 * change_days - 1] | max,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}
-- depends_on: {{ ref('int_usage__account_feature_days') }}, {{ ref('int_revenue__subscriptions_converted') }}, {{ ref('stg_product__features') }}, {{ ref('stg_product__event_day_moves') }}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

user_days as (

    select * from {{ ref('int_usage__user_days') }}
    {%- if read_from is not none %}
    where activity_date >= {{ read_from }}
    {%- endif %}

),

account_days as (

    select * from {{ ref('int_usage__account_days') }}
    {%- if read_from is not none %}
    where activity_date >= {{ read_from }}
    {%- endif %}

),

adoption_days as (

    select * from {{ ref('int_usage__account_adoption_daily') }}
    {%- if read_from is not none %}
    where date_day >= {{ read_from }}
    {%- endif %}

),

periods as (

    select * from {{ ref('int_calendar__periods') }}

),

-- a row per user-day (44 M at preset M): computed again by each of its three readers rather than
-- written once, see cte_not_materialized()
user_day_observations as {{ cte_not_materialized() }} (

    select
        'active_users' as metric,
        user_days.activity_date as obs_date,
        {{ dbt.concat(['user_days.account_id', "'|'", 'user_days.user_id']) }} as obs_key{{ metric_account_segment_columns() }}
    from user_days
    {{ metric_account_segments_join('user_days.account_id', 'user_days.activity_date') }}
    where user_days.user_id is not null

),

adoption_observations as (

    select
        'feature_adoption_pct' as metric,
        adoption_days.date_day as obs_date,
        adoption_days.core_features_used as num,
        adoption_days.core_features as den{{ metric_account_segment_columns() }}
    from adoption_days
    {{ metric_account_segments_join('adoption_days.account_id', 'adoption_days.date_day') }}

),

active_users as (

    {{ metric_values('user_day_observations', 'count_distinct', segments) }}

),

feature_adoption as (

    {{ metric_values('adoption_observations', 'ratio', segments, grains=stock_grains) }}

),

-- per account and calendar day from its first event to {{ 2 * change_days - 1 }} days after its
-- last: events that day (0 if none). Dense, so the two windows below are row frames
account_change_days as (

    select
        account_spans.account_id,
        days.date_day,
        coalesce(account_days.event_count, 0) as event_count
    from (
        select account_id, min(activity_date) as first_day, max(activity_date) as last_day
        from account_days
        group by account_id
    ) as account_spans
    inner join {{ ref('int_calendar__days') }} as days
        on days.date_day >= account_spans.first_day
        and days.date_day <= {{ metric_add_days(2 * change_days - 1, 'account_spans.last_day') }}
    -- AL04 is wrong here: the subquery above reads account_days in a scope of its own
    left join account_days  -- noqa: AL04
        on account_days.account_id = account_spans.account_id
        and account_days.activity_date = days.date_day

),

-- events in the {{ change_days }} days ending each day and in the {{ change_days }} days before;
-- days with no event in either window are left out (the account is not observed there)
account_change_windows as (

    select * from (
        select
            account_id,
            date_day,
            sum(event_count) over (
                partition by account_id order by date_day
                rows between {{ change_days - 1 }} preceding and current row
            ) as num,
            coalesce(sum(event_count) over (
                partition by account_id order by date_day
                rows between {{ 2 * change_days - 1 }} preceding and {{ change_days }} preceding
            ), 0) as den
        from account_change_days
    ) as windows
    where num + den > 0

),

{%- for grain in stock_grains %}

-- per account: events in the {{ change_days }} days ending at each {{ grain }}'s end and in the
-- {{ change_days }} days before, dated at the period's start for metric_values()
{{ grain }}_change_windows as (

    select
        'usage_change_pct' as metric,
        periods.period_start as obs_date,
        periods.period_end,
        account_change_windows.account_id,
        account_change_windows.num,
        account_change_windows.den
    from periods
    inner join account_change_windows
        on account_change_windows.date_day = periods.period_end
    where periods.grain = '{{ grain }}'

),

{{ grain }}_change_observations as (

    select
        {{ grain }}_change_windows.*{{ metric_account_segment_columns() }}
    from {{ grain }}_change_windows
    {{ metric_account_segments_join(grain ~ '_change_windows.account_id', grain ~ '_change_windows.period_end') }}

),

{{ grain }}_change_ratio as (

    {{ metric_values(grain ~ '_change_observations', 'ratio', segments, grains=[grain]) }}

),
{%- endfor %}

usage_change as (

    {%- for grain in stock_grains %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        metric,
        grain,
        period_start,
        window_days,
        segment_type,
        segment_value,
        value - 100 as value,
        numerator,
        denominator,
        sample_size,
        ci_low,
        ci_high
    from {{ grain }}_change_ratio
    {%- endfor %}

),

final as (

    select * from active_users
    union all
    select * from feature_adoption
    union all
    select {{ metric_values_columns('usage_change') }} from usage_change

)

select * from final
where {{ period_increment_filter(inc) }}
