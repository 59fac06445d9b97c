{#-
    One row per account, day and core feature (stg_product__features, current and is_core) the
    account used that day: an event whose event_name is the feature's event_name.
    last_extract_date: the latest extract_date among those events (drives the increments).

    Incremental (delete+insert by activity_date), like int_usage__user_days: a run recomputes
    only the days touched by events that changed since the last run. A change of which features
    are core (the catalogue) changes past days too: rebuild the usage models with --full-refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='activity_date',
    on_schema_change='append_new_columns'
) }}
{%- set cutoff = incremental_cutoff('last_extract_date') -%}
{%- set first_touched = incremental_first_touched(ref('stg_product__events'), metric_day('occurred_at'), 'extract_date', cutoff) -%}

with

events as (

    select * from {{ ref('stg_product__events') }}

),

features as (

    select * from {{ ref('stg_product__features') }}
    where is_current and is_core

),

{%- if cutoff is not none %}

-- stg_product__events itself, not the CTE: DuckDB materializes a CTE read twice (100 M events at M)
touched_days as (

    select distinct {{ metric_day('occurred_at') }} as activity_date
    from {{ ref('stg_product__events') }}
    where extract_date > {{ cutoff }}

),

events_to_count as (

    select events.*
    from events
    inner join touched_days
        on {{ metric_day('events.occurred_at') }} = touched_days.activity_date
    {%- if first_touched is not none %}
    where events.occurred_at >= cast({{ first_touched }} as {{ dbt.type_timestamp() }})
    {%- endif %}

),
{%- else %}

events_to_count as (

    select * from events

),
{%- endif %}

account_event_days as (

    select
        account_id,
        event_name,
        {{ metric_day('occurred_at') }} as activity_date,
        max(extract_date) as last_extract_date
    from events_to_count
    group by account_id, event_name, {{ metric_day('occurred_at') }}

),

final as (

    select
        account_event_days.account_id,
        account_event_days.activity_date,
        features.feature_key,
        max(account_event_days.last_extract_date) as last_extract_date
    from account_event_days
    inner join features
        on account_event_days.event_name = features.event_name
    group by account_event_days.account_id, account_event_days.activity_date, features.feature_key

)

select * from final
