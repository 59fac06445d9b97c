{#-
    One row per account per active day (int_health__account_days.is_active; the health score
    reads its score dates): engagement in the last window_days days known that day
    (crm.activities with occurred_at <= d and first_extract_date <= d): QBRs, executive
    check-ins and active stakeholders (distinct contacts in any activity).
    has_engagement_source: the CRM had delivered activities by d (else the component is missing).

    Incremental by day (macros/incremental/period_increment.sql), as int_health__usage_daily: a
    run recomputes the days from the first one a changed activity (snapshotted: added, withdrawn
    or re-sent with other values; from the day it became known), a subscription or the latest
    extract date reach, reading the activities of window_days days before it.
-#}
{%- set w = var('chw')['health']['components']['engagement']['window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
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

per_day as (

    select
        active_days.account_id,
        active_days.day,
        sum(case when known_activities.activity_type = 'qbr' then 1 else 0 end) as qbrs,
        sum(case when known_activities.activity_type = 'exec_checkin' then 1 else 0 end) as exec_checkins,
        count(distinct known_activities.contact_id) as active_stakeholders
    from active_days
    inner join activities_in_reach as known_activities
        on active_days.account_id = known_activities.account_id
        and known_activities.known_date <= active_days.day
        and known_activities.occurred_date > {{ dbt.dateadd('day', -w, 'active_days.day') }}
    group by active_days.account_id, active_days.day

),

final as (

    select
        active_days.account_id,
        active_days.day as as_of_date,
        coalesce(active_days.day >= crm_known_from.known_from, false) as has_engagement_source,
        cast(coalesce(per_day.qbrs, 0) as bigint) as qbrs,
        cast(coalesce(per_day.exec_checkins, 0) as bigint) as exec_checkins,
        cast(coalesce(per_day.active_stakeholders, 0) as bigint) as active_stakeholders
    from active_days
    cross join crm_known_from
    left join per_day
        on active_days.account_id = per_day.account_id
        and active_days.day = per_day.day

)

select * from final
