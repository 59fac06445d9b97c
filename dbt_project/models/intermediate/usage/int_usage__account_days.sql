{#-
    One row per account and day with product events: events, active users (distinct users
    with an event that day, from int_usage__user_days) and core features used that day.
    last_extract_date: the latest extract_date among the day's events (drives the increments).

    Incremental by day (replace_days_strategy(): the days in the new rows replace the stored ones):
    a run recomputes only the days whose int_usage__user_days rows changed since the last run
    (last_extract_date after incremental_cutoff('last_extract_date')), and the days re-sent events
    left (stg_product__event_day_moves).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=replace_days_strategy(),
    unique_key='activity_date',
    partition_by=partition_columns(['activity_date']),
    on_schema_change='append_new_columns'
) }}
{%- set cutoff = incremental_cutoff('last_extract_date') -%}
{%- set first_touched = incremental_first_touched(ref('int_usage__user_days'), 'activity_date', 'last_extract_date', cutoff) -%}
-- depends_on: {{ ref('stg_product__event_day_moves') }}

with

user_days as (

    select * from {{ ref('int_usage__user_days') }}

),

feature_days as (

    select * from {{ ref('int_usage__account_feature_days') }}

),

{%- if cutoff is not none %}

-- int_usage__user_days itself, not the CTE: DuckDB materializes a CTE read twice (44 M rows at M)
touched_days as (

    {{ incremental_touched_days(ref('int_usage__user_days'), 'activity_date', 'last_extract_date', cutoff, 'activity_date') }}

),
{%- endif %}

usage_by_day as (

    select
        user_days.account_id,
        user_days.activity_date,
        sum(user_days.event_count) as event_count,
        count(user_days.user_id) as active_users,
        max(user_days.last_extract_date) as last_extract_date
    from user_days
    {%- if cutoff is not none %}
    inner join touched_days
        on user_days.activity_date = touched_days.activity_date
    {%- if first_touched is not none %}
    where user_days.activity_date >= {{ first_touched }}
    {%- endif %}
    {%- endif %}
    group by user_days.account_id, user_days.activity_date

),

features_by_day as (

    select
        feature_days.account_id,
        feature_days.activity_date,
        count(*) as core_features_used
    from feature_days
    {%- if cutoff is not none %}
    inner join touched_days
        on feature_days.activity_date = touched_days.activity_date
    {%- if first_touched is not none %}
    where feature_days.activity_date >= {{ first_touched }}
    {%- endif %}
    {%- endif %}
    group by feature_days.account_id, feature_days.activity_date

),

final as (

    select
        usage_by_day.account_id,
        usage_by_day.activity_date,
        cast(usage_by_day.event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(usage_by_day.active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(coalesce(features_by_day.core_features_used, 0) as {{ dbt.type_bigint() }}) as core_features_used,
        usage_by_day.last_extract_date
    from usage_by_day
    left join features_by_day
        on usage_by_day.account_id = features_by_day.account_id
        and usage_by_day.activity_date = features_by_day.activity_date

)

select * from final
