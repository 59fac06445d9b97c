{#-
    One row per account per renewal date (a subscription end_date). A renewal churned when no
    subscription of the account covers end_date + vars.chw.health.churn_grace_days
    (start_date <= that day < end_date): the account left. Resolved once that day is on or
    before the latest extract date; unresolved renewals have churned = null. These are the
    labels of the health weight fit and of the score's evidence.
-#}
{%- set grace = var('chw')['health']['churn_grace_days'] -%}

with

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

renewal_dates as (

    select distinct
        account_id,
        end_date as renewal_date,
        cast({{ dbt.dateadd('day', grace, 'end_date') }} as date) as check_date
    from subscriptions
    where account_id is not null
        and end_date is not null

),

covered as (

    select
        renewal_dates.account_id,
        renewal_dates.renewal_date,
        max(case when subscriptions.subscription_id is not null then 1 else 0 end) as is_covered
    from renewal_dates
    left join subscriptions
        on renewal_dates.account_id = subscriptions.account_id
        and subscriptions.start_date <= renewal_dates.check_date
        and (subscriptions.end_date is null or subscriptions.end_date > renewal_dates.check_date)
    group by renewal_dates.account_id, renewal_dates.renewal_date

),

final as (

    select
        renewal_dates.account_id,
        renewal_dates.renewal_date,
        renewal_dates.check_date <= bounds.latest_extract_date as is_resolved,
        case
            when renewal_dates.check_date <= bounds.latest_extract_date then covered.is_covered = 0
        end as churned
    from renewal_dates
    inner join covered
        on renewal_dates.account_id = covered.account_id
        and renewal_dates.renewal_date = covered.renewal_date
    cross join bounds

)

select * from final
