{#-
    One row per account per active day (int_health__account_days.is_active; the health score
    reads its score dates): the support load known that day. Tickets count once
    known (first_extract_date <= d) and created on or before d.
    - tickets_in_window: tickets created in the last window_days days, or older and still unresolved.
    - unresolved_tickets: created <= d and not solved by d.
    - escalated_tickets: escalated tickets created in the last window_days days.
    - breached_first_responses: tickets created in the last window_days days whose first
      response came later than the channel's target (vars.chw.frt_target_seconds), or has not
      come by d although the target has passed.
    has_support_source: the helpdesk had delivered tickets by d (else the component is missing).

    Incremental by day (macros/incremental/period_increment.sql), as int_health__usage_daily: a
    run recomputes the days from the first one a changed ticket (snapshotted: from the day it
    became known; a ticket only newly solved, from its solved day), a subscription or the latest
    extract date reach, reading the tickets that can weigh on those days.
-#}
{%- set w = var('chw')['health']['components']['support']['window_days'] -%}
{%- set targets = var('chw')['frt_target_seconds'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['as_of_date']),
    period_increment={
        'intervals': [
            {'name': 'tickets', 'model': 'stg_helpdesk__tickets', 'key': ['ticket_id'],
             'from': 'greatest(cast(created_at as date), first_extract_date)', 'to': 'cast(solved_at as date)',
             'attrs': ['account_id', 'created_at', 'escalated', 'first_response_at', 'channel'],
             'where': 'account_id is not null and created_at is not null'},
        ] + period_increment_intervals(['known_subscriptions', 'latest_extract']),
        'grains': ['day'],
        'day_column': 'as_of_date',
        'reach_days': w,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set from_day = period_increment_from_day(inc) -%}
-- depends_on: {{ ref('stg_crm__subscriptions') }}
-- depends_on: {{ ref('int_health__extract_bounds') }}
-- depends_on: {{ ref('int_calendar__days') }}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}

),

active_days as (

    select account_id, day from account_days
    where is_active
    {%- if from_day is not none %}
        and day >= {{ from_day }}
    {%- endif %}

),

known_tickets as (

    select
        account_id,
        created_at,
        cast(created_at as date) as created_date,
        case
            when first_extract_date > cast(created_at as date) then first_extract_date
            else cast(created_at as date)
        end as known_date,
        cast(solved_at as date) as solved_date,
        coalesce(escalated, false) as escalated,
        first_response_at,
        case channel
            {%- for channel, seconds in targets.items() %}
            when '{{ channel }}' then {{ seconds }}
            {%- endfor %}
        end as target_seconds
    from tickets
    where account_id is not null
        and created_at is not null

),

-- in an incremental run: the tickets that can weigh on the recomputed days (the join below
-- keeps those created in a day's window, or not solved by it)
tickets_in_reach as (

    select * from known_tickets
    {%- if from_day is not none %}
    where created_date > {{ dbt.dateadd('day', -w, from_day) }}
        or solved_date is null
        or solved_date > {{ from_day }}
    {%- endif %}

),

helpdesk_known_from as (

    select min(known_date) as known_from from known_tickets

),

per_day as (

    select
        active_days.account_id,
        active_days.day,
        count(*) as tickets_in_window,
        sum(case
            when known_tickets.solved_date is null or known_tickets.solved_date > active_days.day then 1 else 0
        end) as unresolved_tickets,
        sum(case
            when known_tickets.escalated
                and known_tickets.created_date > {{ dbt.dateadd('day', -w, 'active_days.day') }} then 1 else 0
        end) as escalated_tickets,
        sum(case
            when known_tickets.created_date > {{ dbt.dateadd('day', -w, 'active_days.day') }}
                and known_tickets.target_seconds is not null
                and (
                    (known_tickets.first_response_at is not null
                        and cast(known_tickets.first_response_at as date) <= active_days.day
                        and {{ dbt.datediff('known_tickets.created_at', 'known_tickets.first_response_at', 'second') }}
                            > known_tickets.target_seconds)
                    or ((known_tickets.first_response_at is null
                        or cast(known_tickets.first_response_at as date) > active_days.day)
                        and {{ dbt.datediff('known_tickets.created_at', dbt.dateadd('day', 1, 'active_days.day'), 'second') }}
                            > known_tickets.target_seconds)
                )
                then 1 else 0
        end) as breached_first_responses
    from active_days
    inner join tickets_in_reach as known_tickets
        on active_days.account_id = known_tickets.account_id
        and known_tickets.known_date <= active_days.day
        -- a ticket solved before the window and created before it weighs on nothing
        and (
            known_tickets.created_date > {{ dbt.dateadd('day', -w, 'active_days.day') }}
            or known_tickets.solved_date is null
            or known_tickets.solved_date > active_days.day
        )
    group by active_days.account_id, active_days.day

),

final as (

    select
        active_days.account_id,
        active_days.day as as_of_date,
        coalesce(active_days.day >= helpdesk_known_from.known_from, false) as has_support_source,
        cast(coalesce(per_day.tickets_in_window, 0) as bigint) as tickets_in_window,
        cast(coalesce(per_day.unresolved_tickets, 0) as bigint) as unresolved_tickets,
        cast(coalesce(per_day.escalated_tickets, 0) as bigint) as escalated_tickets,
        cast(coalesce(per_day.breached_first_responses, 0) as bigint) as breached_first_responses
    from active_days
    cross join helpdesk_known_from
    left join per_day
        on active_days.account_id = per_day.account_id
        and active_days.day = per_day.day

)

select * from final
