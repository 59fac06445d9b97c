{#-
    One row per account per score date: product usage known on that date.

    An event counts on day d when it happened on or before d and was known by d
    (first_extract_date <= d). Events come aggregated per account, event name, event day and
    day known (int_usage__account_event_name_days, incremental: a run adds only the days its new
    events touch, where this model used to read every event in every run); the windows then
    slide over the dense daily spine (int_health__account_days), and events that happened in a
    window but arrived later are subtracted on the few days they were not yet known. Feature
    adoption counts distinct core features (product.features.is_core) used in the last
    window_days days, via per-feature coverage intervals, not a per-day rescan.
-#}
{%- set usage = var('chw')['health']['components']['usage'] -%}
{%- set adoption = var('chw')['health']['components']['adoption'] -%}
{%- set w = usage['window_days'] -%}
{%- set aw = adoption['window_days'] -%}

with

features as (

    select * from {{ ref('stg_product__features') }}

),

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

day_numbers as (

    {{ dbt.generate_series(2 * w) }}

),

account_first_score as (

    select
        account_id,
        min(day) as first_score_date
    from account_days
    where is_score_date
    group by account_id

),

-- everything below reads int_usage__account_event_name_days (one row per account, event name,
-- event day and day known), by name in the two places that do: as a CTE read twice DuckDB would
-- materialize its 25 M rows at M first (11.7-12.7 -> 10.6-10.7 s alone, the same rows)
daily as (

    select
        account_id,
        event_date,
        known_date,
        sum(n_events) as n_events
    from {{ ref('int_usage__account_event_name_days') }}
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
        account_days.is_score_date,
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
        is_score_date,
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
    inner join account_first_score
        on daily.account_id = account_first_score.account_id
        and daily.known_date > account_first_score.first_score_date
    inner join day_numbers
        on daily.known_date > {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'daily.event_date') }}
    where daily.known_date > daily.event_date

),

late_event_dates as (

    select
        per_event_date.account_id,
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'per_event_date.event_date') }} as date) as day
    from per_event_date
    inner join account_first_score
        on per_event_date.account_id = account_first_score.account_id
        and per_event_date.first_known_date > account_first_score.first_score_date
    inner join day_numbers
        on per_event_date.first_known_date > {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'per_event_date.event_date') }}
        and day_numbers.generated_number <= {{ w }}
    where per_event_date.first_known_date > per_event_date.event_date

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
    from (select distinct day from account_days where is_score_date) as account_days
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

core_steps as (

    select account_id, period_from as day, 1 as step from core_periods
    union all
    select account_id, period_to as day, -1 as step from core_periods

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
        on_spine.is_score_date,
        sum(coalesce(core_step_days.step, 0)) over (
            partition by on_spine.account_id order by on_spine.day rows between unbounded preceding and current row
        ) as core_features_used
    from on_spine
    left join core_step_days
        on on_spine.account_id = core_step_days.account_id
        and on_spine.day = core_step_days.day

),

events_known_from as (

    select
        min(known_date) as known_from,
        min(event_date) as first_event_date
    from daily

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
    where account_days.is_score_date
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
    where windowed.is_score_date

)

select * from final
