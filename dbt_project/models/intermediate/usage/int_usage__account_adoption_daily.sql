{#-
    One row per account and day on which a subscription of the account is active
    (start_date <= day < end_date): core features the account used in the
    vars.chw.metrics.adoption_window_days days ending that day, and the number of core features.
    A feature's use on day t counts for the days t .. t + N - 1, up to the feature's next use,
    so each (account, feature) is counted once per day without a distinct over copies; a day's
    count is the running sum of the +1 where a use starts counting and -1 where it stops.

    Incremental by day (macros/incremental/period_increment.sql): a run recomputes the days from
    the first one that new feature uses (within the lookback), a subscription or core-feature
    change or the calendar's new days reach, reading feature uses from N - 1 days before it.
-#}
{%- set window = var('chw')['metrics']['adoption_window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['date_day']),
    period_increment={
        'watermarked': [
            {'model': 'int_usage__account_feature_days', 'day': 'activity_date', 'extract': 'last_extract_date'},
            {'model': 'stg_product__event_day_moves', 'day': 'event_date', 'extract': 'extract_date'},
        ],
        'intervals': period_increment_intervals(['subscriptions', 'core_features']),
        'grains': ['day'],
        'day_column': 'date_day',
        'reach_days': window - 1,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}
-- depends_on: {{ ref('stg_product__event_day_moves') }}

with

feature_days as (

    select * from {{ ref('int_usage__account_feature_days') }}
    {%- if read_from is not none %}
    where activity_date >= {{ read_from }}
    {%- endif %}

),

features as (

    select * from {{ ref('stg_product__features') }}
    where is_current and is_core

),

subscriptions as (

    select * from {{ ref('int_revenue__subscriptions_converted') }}

),

days as (

    select * from {{ ref('int_calendar__days') }}
    where {{ period_increment_filter(inc, start_column='date_day') }}

),

core_feature_count as (

    select count(*) as core_features from features

),

-- per feature use: the days it counts for, from its day up to N days later or to the
-- feature's next use, whichever comes first (end exclusive)
feature_uses as {{ cte_materialized() }} (

    select
        account_id,
        activity_date,
        coalesce(
            least(
                lead(activity_date) over (partition by account_id, feature_key order by activity_date),
                {{ metric_add_days(window, 'activity_date') }}
            ),
            {{ metric_add_days(window, 'activity_date') }}
        ) as counted_until
    from feature_days

),

-- per account and day: features that start (+1) and stop (-1) counting
feature_count_changes as (

    select account_id, activity_date as date_day, 1 as core_features_used
    from feature_uses
    union all
    select account_id, counted_until as date_day, -1 as core_features_used
    from feature_uses

),

active_account_days as (

    select distinct
        subscriptions.account_id,
        days.date_day
    from subscriptions
    inner join days
        on days.date_day >= subscriptions.start_date
        and (subscriptions.end_date is null or days.date_day < subscriptions.end_date)

),

-- the running sum up to each active day (a row per use and covered day was a range join of
-- 19.5 M rows at preset M)
features_used_in_window as (

    {{ running_sums_on_days('active_account_days', 'feature_count_changes', 'account_id', 'date_day', ['core_features_used']) }}

),

final as (

    select
        features_used_in_window.account_id,
        features_used_in_window.date_day,
        cast(features_used_in_window.core_features_used as {{ dbt.type_bigint() }}) as core_features_used,
        cast(core_feature_count.core_features as {{ dbt.type_bigint() }}) as core_features
    from features_used_in_window
    cross join core_feature_count
    where core_feature_count.core_features > 0

)

select * from final
