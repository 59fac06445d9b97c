{#-
    One row per account per score date with at least one onboarding milestone due by then:
    milestones known that day (first_extract_date <= d) with planned_date <= d are due; on time
    when completed_date <= planned_date (and completed by d). Accounts with nothing due have no
    row (the component is missing).
-#}

with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

milestones as (

    select * from {{ ref('stg_crm__milestones') }}

),

score_dates as (

    select account_id, day from account_days where is_score_date

),

final as (

    select
        score_dates.account_id,
        score_dates.day as as_of_date,
        cast(count(*) as bigint) as milestones_due,
        cast(sum(case
            when milestones.completed_date is not null
                and milestones.completed_date <= milestones.planned_date
                and milestones.completed_date <= score_dates.day
                then 1
            else 0
        end) as bigint) as milestones_on_time
    from score_dates
    inner join milestones
        on score_dates.account_id = milestones.account_id
        and milestones.first_extract_date <= score_dates.day
        and milestones.planned_date <= score_dates.day
    group by score_dates.account_id, score_dates.day

)

select * from final
