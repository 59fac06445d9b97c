{#-
    One row per account per score date: engagement in the last window_days days known that day
    (crm.activities with occurred_at <= d and first_extract_date <= d): QBRs, executive
    check-ins and active stakeholders (distinct contacts in any activity).
    has_engagement_source: the CRM had delivered activities by d (else the component is missing).
-#}
{%- set w = var('chw')['health']['components']['engagement']['window_days'] -%}

with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

activities as (

    select * from {{ ref('stg_crm__activities') }}

),

score_dates as (

    select account_id, day from account_days where is_score_date

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

crm_known_from as (

    select min(known_date) as known_from from known_activities

),

per_day as (

    select
        score_dates.account_id,
        score_dates.day,
        sum(case when known_activities.activity_type = 'qbr' then 1 else 0 end) as qbrs,
        sum(case when known_activities.activity_type = 'exec_checkin' then 1 else 0 end) as exec_checkins,
        count(distinct known_activities.contact_id) as active_stakeholders
    from score_dates
    inner join known_activities
        on score_dates.account_id = known_activities.account_id
        and known_activities.known_date <= score_dates.day
        and known_activities.occurred_date > {{ dbt.dateadd('day', -w, 'score_dates.day') }}
    group by score_dates.account_id, score_dates.day

),

final as (

    select
        score_dates.account_id,
        score_dates.day as as_of_date,
        coalesce(score_dates.day >= crm_known_from.known_from, false) as has_engagement_source,
        cast(coalesce(per_day.qbrs, 0) as bigint) as qbrs,
        cast(coalesce(per_day.exec_checkins, 0) as bigint) as exec_checkins,
        cast(coalesce(per_day.active_stakeholders, 0) as bigint) as active_stakeholders
    from score_dates
    cross join crm_known_from
    left join per_day
        on score_dates.account_id = per_day.account_id
        and score_dates.day = per_day.day

)

select * from final
