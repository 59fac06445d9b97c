{#-
    One row per account per active day (int_health__account_days.is_active; the health score
    reads its score dates): engagement in the last window_days days known that day
    (crm.activities with occurred_at <= d and first_extract_date <= d): QBRs, executive
    check-ins and active stakeholders (distinct contacts in any activity).
    has_engagement_source: the CRM had delivered activities by d (else the component is missing).
    An activity counts from the day it is known to the end of the window that holds it; the
    counts are running sums of where those spans start and stop (a contact's spans merged first).

    Incremental by day (macros/incremental/period_increment.sql), as int_health__usage_daily: a
    run recomputes the days from the first one a changed activity (snapshotted: added, withdrawn
    or re-sent with other values; from the day it became known), a subscription or the latest
    extract date reach, reading the activities of window_days days before it.
-#}
{%- set w = var('chw')['health']['components']['engagement']['window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['as_of_date']),
    period_increment={
        'intervals': [
            {'name': 'activities', 'model': 'stg_crm__activities', 'key': ['activity_id'],
             'from': 'greatest(cast(occurred_at as date), first_extract_date)', 'to': 'null',
             'attrs': ['account_id', 'activity_type', 'contact_id', 'occurred_at'],
             'where': 'account_id is not null and occurred_at is not null'},
        ] + period_increment_intervals(['known_subscriptions', 'latest_extract']),
        'grains': ['day'],
        'day_column': 'as_of_date',
        'reach_days': w,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}
{%- set from_day = period_increment_from_day(inc) -%}
-- depends_on: {{ ref('stg_crm__subscriptions') }}
-- depends_on: {{ ref('int_health__extract_bounds') }}
-- depends_on: {{ ref('int_calendar__days') }}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

active_days as (

    select account_id, day from account_days
    where is_active
    {%- if from_day is not none %}
        and day >= {{ from_day }}
    {%- endif %}

),

known_activities as (

    select
        account_id,
        activity_type,
        contact_id,
        cast(occurred_at as date) as occurred_date,
        case
            when first_extract_date > cast(occurred_at as date) then first_extract_date
            else cast(occurred_at as date)
        end as known_date
    from activities
    where account_id is not null
        and occurred_at is not null

),

-- in an incremental run: what the windows of the recomputed days reach
activities_in_reach as (

    select * from known_activities
    {%- if read_from is not none %}
    where occurred_date > {{ read_from }}
    {%- endif %}

),

crm_known_from as (

    select min(known_date) as known_from from known_activities

),

-- the days an activity counts on: from the day it is known to the last day of the window that
-- holds it, [known_date, occurred_date + window_days), empty when it became known too late
activity_spans as (

    select
        account_id,
        activity_type,
        contact_id,
        known_date as counts_from,
        {{ metric_add_days(w, 'occurred_date') }} as counts_until
    from activities_in_reach
    where known_date < {{ metric_add_days(w, 'occurred_date') }}

),

-- a contact's spans merged: the part of a span not covered by an earlier-starting span of the
-- same account and contact, so a contact counts once per day however many activities cover it
stakeholder_spans as (

    select * from (
        select
            account_id,
            counts_from,
            counts_until,
            max(counts_until) over (
                partition by account_id, contact_id
                order by counts_from, counts_until
                rows between unbounded preceding and 1 preceding
            ) as covered_until
        from activity_spans
        where contact_id is not null
    ) as ordered
    where covered_until is null or counts_until > covered_until

),

-- per account and day: how the three counts change (+1 where a span starts counting, -1 where
-- it stops)
changes as (

    select account_id, counts_from as day,
        case when activity_type = 'qbr' then 1 else 0 end as qbrs,
        case when activity_type = 'exec_checkin' then 1 else 0 end as exec_checkins,
        0 as active_stakeholders
    from activity_spans
    union all
    select account_id, counts_until,
        case when activity_type = 'qbr' then -1 else 0 end,
        case when activity_type = 'exec_checkin' then -1 else 0 end,
        0
    from activity_spans
    union all
    select account_id,
        case when covered_until is null or counts_from >= covered_until then counts_from else covered_until end,
        0, 0, 1
    from stakeholder_spans
    union all
    select account_id, counts_until, 0, 0, -1
    from stakeholder_spans

),

-- the running sums up to each active day (a row per activity and day in its window was a range
-- join of 41 M rows at preset M)
per_day as (

    {{ running_sums_on_days('active_days', 'changes', 'account_id', 'day', ['qbrs', 'exec_checkins', 'active_stakeholders']) }}

),

final as (

    select
        per_day.account_id,
        per_day.day as as_of_date,
        coalesce(per_day.day >= crm_known_from.known_from, false) as has_engagement_source,
        cast(per_day.qbrs as bigint) as qbrs,
        cast(per_day.exec_checkins as bigint) as exec_checkins,
        cast(per_day.active_stakeholders as bigint) as active_stakeholders
    from per_day
    cross join crm_known_from

)

select * from final
