{#- One row per account: current attributes, CSM owner, onboarding cohort and current MRR/ARR. -#}
with

accounts as (

    select * from {{ ref('stg_crm__accounts') }}

),

owners as (

    select * from {{ ref('stg_crm__owners') }}

),

subscriptions as (

    select * from {{ ref('int_revenue__subscriptions_converted') }}

),

all_subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

days as (

    select * from {{ ref('int_calendar__days') }}

),

as_of as (

    select max(date_day) as as_of_date from days

),

first_subscriptions as (

    select
        account_id,
        min(start_date) as first_subscription_start
    from all_subscriptions
    group by account_id

),

current_mrr as (

    select
        subscriptions.account_id,
        cast(sum(cast(subscriptions.mrr_reporting as {{ metric_exact_type() }})) as {{ type_double() }}) as mrr
    from subscriptions
    cross join as_of
    where
        subscriptions.has_rate
        and subscriptions.start_date <= as_of.as_of_date
        and (subscriptions.end_date is null or as_of.as_of_date < subscriptions.end_date)
    group by subscriptions.account_id

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.industry,
        accounts.tier,
        accounts.region,
        accounts.plan,
        accounts.csm_owner_id,
        owners.owner_name as csm_owner_name,
        accounts.created_at,
        first_subscriptions.first_subscription_start,
        {{ metric_trunc('month', 'first_subscriptions.first_subscription_start') }} as onboarding_cohort,
        cast(coalesce(current_mrr.mrr, 0) as {{ type_double() }}) as mrr,
        cast(12 * coalesce(current_mrr.mrr, 0) as {{ type_double() }}) as arr,
        '{{ var('chw')['reporting_currency'] }}' as reporting_currency,
        coalesce(current_mrr.mrr, 0) > 0 as is_active_customer,
        accounts.is_current as is_in_latest_snapshot,
        as_of.as_of_date
    from accounts
    cross join as_of
    left join owners
        on accounts.csm_owner_id = owners.owner_id
    left join first_subscriptions
        on accounts.account_id = first_subscriptions.account_id
    left join current_mrr
        on accounts.account_id = current_mrr.account_id

)

select * from final
