{#-
    One row per account and version of its segment attributes (SCD-2 from
    stg_crm__accounts_history): tier, industry, region, plan, csm_owner (the CSM's owner_id) and
    onboarding_cohort (first day of the month of the account's first subscription start, as
    text). The first version also covers every day before the account's first extract
    (valid_from 1900-01-01), so observations older than the first snapshot still get segments.
    Join with metric_account_segments_join(): valid_from <= date < valid_to (null = open).
-#}
with

accounts_history as (

    select * from {{ ref('stg_crm__accounts_history') }}

),

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

first_subscriptions as (

    select
        account_id,
        min(start_date) as first_subscription_start
    from subscriptions
    group by account_id

),

versions as (

    select
        *,
        row_number() over (partition by account_id order by valid_from) as version_number
    from accounts_history

),

final as (

    select
        versions.account_id,
        case
            when versions.version_number = 1 then cast('1900-01-01' as date)
            else versions.valid_from
        end as valid_from,
        versions.valid_to,
        versions.tier,
        versions.industry,
        versions.region,
        versions.plan,
        versions.csm_owner_id as csm_owner,
        {{ dbt.cast(metric_trunc('month', 'first_subscriptions.first_subscription_start'), dbt.type_string()) }}
            as onboarding_cohort
    from versions
    left join first_subscriptions
        on versions.account_id = first_subscriptions.account_id

)

select * from final
