{#-
    One row per account, day and core feature (stg_product__features, current and is_core) the
    account used that day: an event whose event_name is the feature's event_name.
    last_extract_date: the latest extract_date among those events (drives the increments).
    Read from int_usage__account_event_name_days (events already counted per account, event
    name and day: 25 M rows at preset M instead of 100 M events).

    Incremental by day (replace_days_strategy(): the days in the new rows replace the stored ones),
    like int_usage__user_days: a run recomputes only the days touched by events that changed since
    the last run (the event-name days rewritten after the cutoff, and the days re-sent events left).
    A change of which features are core (the catalogue) changes past days too: rebuild the usage
    models with --full-refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=replace_days_strategy(),
    unique_key='activity_date',
    partition_by=partition_columns(['activity_date']),
    on_schema_change='append_new_columns'
) }}
{%- set cutoff = incremental_cutoff('last_extract_date') -%}
{%- set first_touched = incremental_first_touched(ref('int_usage__account_event_name_days'), 'event_date', 'last_extract_date', cutoff) -%}
-- depends_on: {{ ref('stg_product__event_day_moves') }}

with

event_name_days as (

    select * from {{ ref('int_usage__account_event_name_days') }}

),

features as (

    select * from {{ ref('stg_product__features') }}
    where is_current and is_core

),

{%- if cutoff is not none %}

-- the upstream model rewrites whole event days, so a day with a row changed after the cutoff
-- is a day to recompute, and all its rows are current. The model itself, not the CTE: DuckDB
-- materializes a CTE read twice (25 M rows at M)
touched_days as (

    {{ incremental_touched_days(ref('int_usage__account_event_name_days'), 'event_date', 'last_extract_date', cutoff, 'event_date') }}

),

days_to_count as (

    select event_name_days.*
    from event_name_days
    inner join touched_days
        on event_name_days.event_date = touched_days.event_date
    {%- if first_touched is not none %}
    where event_name_days.event_date >= {{ first_touched }}
    {%- endif %}

),

{%- else %}

days_to_count as (

    select * from event_name_days

),

{%- endif %}

final as (

    select
        days_to_count.account_id,
        days_to_count.event_date as activity_date,
        features.feature_key,
        max(days_to_count.last_extract_date) as last_extract_date
    from days_to_count
    inner join features
        on days_to_count.event_name = features.event_name
    group by days_to_count.account_id, days_to_count.event_date, features.feature_key

)

select * from final
