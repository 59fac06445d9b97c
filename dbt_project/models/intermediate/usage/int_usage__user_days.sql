{#-
    One row per account, user and day with product events: the one pass over the (large)
    events feed that every user-level usage measure reads. Events without a user_id are kept
    in one row per account and day with user_id null (they count as events, not as users).
    last_extract_date: the latest extract_date among the day's events (drives the increments).

    Incremental by day (replace_days_strategy(): the days in the new rows replace the stored ones):
    a run recomputes only the days touched by events that changed since the last run (staging rows
    with extract_date after incremental_cutoff('last_extract_date')): today's events, a late event's
    past day, and the day a re-sent event left for another one (stg_product__event_day_moves).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=replace_days_strategy(),
    unique_key='activity_date',
    partition_by=partition_columns(['activity_date']),
    on_schema_change='append_new_columns',
    pre_hook="{{ record_increment_cutoff('last_extract_date') }}"
) }}
{%- set cutoff = incremental_cutoff('last_extract_date') -%}
{%- set first_touched = incremental_first_touched(ref('stg_product__events'), metric_day('occurred_at'), 'extract_date', cutoff) -%}
-- depends_on: {{ ref('stg_product__event_day_moves') }}

with

events as (

    select * from {{ ref('stg_product__events') }}

),

{%- if cutoff is not none %}

-- stg_product__events itself, not the CTE: DuckDB materializes a CTE read twice (100 M events at M)
touched_days as (

    {{ incremental_touched_days(ref('stg_product__events'), metric_day('occurred_at'), 'extract_date', cutoff, 'activity_date') }}

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

final as (

    select
        account_id,
        user_id,
        {{ metric_day('occurred_at') }} as activity_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as event_count,
        max(extract_date) as last_extract_date
    from events_to_count
    group by account_id, user_id, {{ metric_day('occurred_at') }}

)

select * from final
