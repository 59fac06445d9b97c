{#-
    One row per account per active day (int_health__account_days.is_active; the health score
    reads its score dates): product usage known on that day.

    An event counts on day d when it happened on or before d and was known by d
    (first_extract_date <= d). Events come aggregated per account, event name, event day and
    day known (int_usage__account_event_name_days, incremental: a run adds only the days its new
    events touch, where this model used to read every event in every run); the windows then
    slide over the dense daily spine (int_health__account_days), and events that happened in a
    window but arrived later are subtracted on the few days they were not yet known. Feature
    adoption counts distinct core features (product.features.is_core) used in the last
    window_days days, via per-feature coverage intervals, not a per-day rescan.

    Incremental by day (macros/incremental/period_increment.sql), as a daily run must not rebuild
    every account-day of history (at M 3 M rows from 25 M event rows, ~27 s of every run): a run
    recomputes the days from the first one that changed event days (within the lookback, and the
    days re-sent events left), a subscription (active days, seats), the core-feature catalogue
    (everything) or the latest extract date (the days it adds or takes away) reach, reading
    events and the spine from 2 x window_days - 1 days before it. Rows are kept for every active
    day, not only score dates: which days are score dates moves with the latest extract date
    every day, whether a day is active only when a subscription changes.
-#}
{%- set usage = var('chw')['health']['components']['usage'] -%}
{%- set adoption = var('chw')['health']['components']['adoption'] -%}
{%- set w = usage['window_days'] -%}
{%- set aw = adoption['window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['as_of_date']),
    period_increment={
        'watermarked': [
            {'model': 'int_usage__account_event_name_days', 'day': 'event_date', 'extract': 'last_extract_date'},
            {'model': 'stg_product__event_day_moves', 'day': 'event_date', 'extract': 'extract_date'},
        ],
        'intervals': [
            {'name': 'core_features', 'model': 'stg_product__features', 'key': ['feature_key'],
             'from': "'1900-01-01'", 'to': 'null', 'attrs': ['event_name', 'first_extract_date'], 'where': 'is_core'},
        ] + period_increment_intervals(['known_subscriptions', 'latest_extract']),
        'grains': ['day'],
        'day_column': 'as_of_date',
        'reach_days': [2 * w - 1, aw - 1] | max,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}
{%- set from_day = period_increment_from_day(inc) -%}
-- depends_on: {{ ref('stg_product__event_day_moves') }}
-- depends_on: {{ ref('int_health__extract_bounds') }}
-- depends_on: {{ ref('int_calendar__days') }}

with

features as (

    select * from {{ ref('stg_product__features') }}

),

-- in an incremental run: the spine from the first day a recomputed day's windows reach
account_days as (

    select * from {{ ref('int_health__account_days') }}
    {%- if read_from is not none %}
    where day >= {{ read_from }}
    {%- endif %}

),

day_numbers as (

    {{ dbt.generate_series(2 * w) }}

),

-- days written are active and on or after these: an event known by then needs no correction
account_first_day as (

    select
        account_id,
        min(day) as first_spine_date,
        min(case when is_active then day end) as first_active_date
    from account_days
    group by account_id

),

-- everything below reads int_usage__account_event_name_days (one row per account, event name,
-- event day and day known), by name in the places that do: as a CTE read twice DuckDB would
-- materialize its 25 M rows at M first (11.7-12.7 -> 10.6-10.7 s alone, the same rows)
daily as (

    select
        account_id,
        event_date,
        known_date,
        sum(n_events) as n_events
    from {{ ref('int_usage__account_event_name_days') }}
    {%- if read_from is not none %}
    where event_date >= {{ read_from }}
    {%- endif %}
    group by account_id, event_date, known_date

),

per_event_date as (

    select
        account_id,
        event_date,
        sum(n_events) as n_events,
        min(known_date) as first_known_date
    from daily
    group by account_id, event_date

),

on_spine as (

    select
        account_days.account_id,
        account_days.day,
        account_days.is_active,
        coalesce(per_event_date.n_events, 0) as n_events,
        case when per_event_date.account_id is null then 0 else 1 end as is_event_day
    from account_days
    left join per_event_date
        on account_days.account_id = per_event_date.account_id
        and account_days.day = per_event_date.event_date

),

windowed as (

    select
        account_id,
        day,
        is_active,
        sum(n_events) over (
            partition by account_id order by day rows between {{ w - 1 }} preceding and current row
        ) as events_window,
        sum(n_events) over (
            partition by account_id order by day rows between {{ 2 * w - 1 }} preceding and {{ w }} preceding
        ) as events_prior_window,
        sum(is_event_day) over (
            partition by account_id order by day rows between {{ w - 1 }} preceding and current row
        ) as active_days_window
    from on_spine

),

-- late arrivals: on day d an event of day e (e <= d) known only on k > d is not yet visible.
-- offset = d - e: 0 .. w-1 falls in the current window, w .. 2w-1 in the prior one.
late_days as (

    select
        daily.account_id,
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'daily.event_date') }} as date) as day,
        day_numbers.generated_number - 1 as day_offset,
        daily.n_events
    from daily
    inner join account_first_day
        on daily.account_id = account_first_day.account_id
        and daily.known_date > account_first_day.first_active_date
    inner join day_numbers
        on daily.known_date > {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'daily.event_date') }}
    where daily.known_date > daily.event_date
    {%- if from_day is not none %}
        and daily.known_date > {{ from_day }}
    {%- endif %}

),

late_event_dates as (

    select
        per_event_date.account_id,
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'per_event_date.event_date') }} as date) as day
    from per_event_date
    inner join account_first_day
        on per_event_date.account_id = account_first_day.account_id
        and per_event_date.first_known_date > account_first_day.first_active_date
    inner join day_numbers
        on per_event_date.first_known_date > {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'per_event_date.event_date') }}
        and day_numbers.generated_number <= {{ w }}
    where per_event_date.first_known_date > per_event_date.event_date
    {%- if from_day is not none %}
        and per_event_date.first_known_date > {{ from_day }}
    {%- endif %}

),

late_correction as (

    select
        account_id,
        day,
        sum(case when day_offset < {{ w }} then n_events else 0 end) as unknown_window,
        sum(case when day_offset >= {{ w }} then n_events else 0 end) as unknown_prior_window
    from late_days
    group by account_id, day

),

late_active_correction as (

    select
        account_id,
        day,
        count(*) as unknown_active_days
    from late_event_dates
    group by account_id, day

),

-- adoption: a core feature counts on d when used on e with e >= d - aw + 1 and known by d,
-- i.e. on the days [greatest(e, known), e + aw); merged per feature, counted with +1/-1 steps
core_features as (

    select
        event_name,
        min(first_extract_date) as known_from
    from features
    where is_core
    group by event_name

),

core_feature_counts as (

    select
        account_days.day,
        count(distinct core_features.event_name) as core_features
    from (select distinct day from account_days where is_active) as account_days
    inner join core_features
        on core_features.known_from <= account_days.day
    group by account_days.day

),

core_use as (

    select
        daily_by_name.account_id,
        daily_by_name.event_name,
        min(daily_by_name.known_date) as covered_from,
        cast({{ dbt.dateadd('day', aw, 'daily_by_name.event_date') }} as date) as covered_to
    from {{ ref('int_usage__account_event_name_days') }} as daily_by_name
    inner join core_features
        on daily_by_name.event_name = core_features.event_name
    {%- if read_from is not none %}
    where daily_by_name.event_date >= {{ read_from }}
    {%- endif %}
    group by daily_by_name.account_id, daily_by_name.event_name, daily_by_name.event_date

),

core_use_valid as (

    select * from core_use where covered_from < covered_to

),

core_ordered as (

    select
        *,
        max(covered_to) over (
            partition by account_id, event_name
            order by covered_from, covered_to
            rows between unbounded preceding and 1 preceding
        ) as previous_max_to
    from core_use_valid

),

core_islands as (

    select
        *,
        sum(case when previous_max_to is null or covered_from > previous_max_to then 1 else 0 end) over (
            partition by account_id, event_name
            order by covered_from, covered_to
            rows between unbounded preceding and current row
        ) as island_number
    from core_ordered

),

core_periods as (

    select
        account_id,
        event_name,
        min(covered_from) as period_from,
        max(covered_to) as period_to
    from core_islands
    group by account_id, event_name, island_number

),

-- a period that starts before the account's spine (events before its span, or in an incremental
-- run before the days read) starts on the spine's first day: its +1 would otherwise fall on no
-- spine day while its -1 does
core_spine_periods as (

    select
        core_periods.account_id,
        greatest(core_periods.period_from, account_first_day.first_spine_date) as period_from,
        core_periods.period_to
    from core_periods
    inner join account_first_day
        on core_periods.account_id = account_first_day.account_id
    where core_periods.period_to > account_first_day.first_spine_date

),

core_steps as (

    select account_id, period_from as day, 1 as step from core_spine_periods
    union all
    select account_id, period_to as day, -1 as step from core_spine_periods

),

core_step_days as (

    select
        account_id,
        day,
        sum(step) as step
    from core_steps
    group by account_id, day

),

core_running as (

    select
        on_spine.account_id,
        on_spine.day,
        on_spine.is_active,
        sum(coalesce(core_step_days.step, 0)) over (
            partition by on_spine.account_id order by on_spine.day rows between unbounded preceding and current row
        ) as core_features_used
    from on_spine
    left join core_step_days
        on on_spine.account_id = core_step_days.account_id
        and on_spine.day = core_step_days.day

),

-- over every event day, not only the days read
events_known_from as (

    select
        min(known_date) as known_from,
        min(event_date) as first_event_date
    from {{ ref('int_usage__account_event_name_days') }}

),

-- licensed seats on the day: subscriptions known and covering it
seats as (

    select
        account_days.account_id,
        account_days.day,
        sum(subscriptions.seats) as seats
    from account_days
    inner join {{ ref('stg_crm__subscriptions') }} as subscriptions
        on account_days.account_id = subscriptions.account_id
        and subscriptions.first_extract_date <= account_days.day
        and subscriptions.start_date <= account_days.day
        and (subscriptions.end_date is null or subscriptions.end_date > account_days.day)
    where account_days.is_active
    group by account_days.account_id, account_days.day

),

final as (

    select
        windowed.account_id,
        windowed.day as as_of_date,
        windowed.day >= events_known_from.known_from as has_usage_source,
        -- the trend needs two full windows of event history
        windowed.day >= {{ dbt.dateadd('day', 2 * w - 1, 'events_known_from.first_event_date') }} as has_usage_trend,
        cast(seats.seats as bigint) as seats,
        cast(windowed.events_window - coalesce(late_correction.unknown_window, 0) as bigint) as events_last_window,
        cast(coalesce(windowed.events_prior_window, 0) - coalesce(late_correction.unknown_prior_window, 0) as bigint)
            as events_prior_window,
        cast(windowed.active_days_window - coalesce(late_active_correction.unknown_active_days, 0) as bigint)
            as active_days_window,
        cast(core_running.core_features_used as bigint) as core_features_used,
        cast(core_feature_counts.core_features as bigint) as core_features
    from windowed
    cross join events_known_from
    inner join core_running
        on windowed.account_id = core_running.account_id
        and windowed.day = core_running.day
    left join late_correction
        on windowed.account_id = late_correction.account_id
        and windowed.day = late_correction.day
    left join late_active_correction
        on windowed.account_id = late_active_correction.account_id
        and windowed.day = late_active_correction.day
    left join core_feature_counts
        on windowed.day = core_feature_counts.day
    left join seats
        on windowed.account_id = seats.account_id
        and windowed.day = seats.day
    where windowed.is_active

)

select * from final
where {{ period_increment_filter(inc) }}
