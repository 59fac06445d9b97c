{#-
    One row per account that has completed a value milestone: days from its first subscription
    start to its first completed value milestone (int_onboarding__milestones.is_value_milestone).
-#}
with

milestones as (

    select * from {{ ref('int_onboarding__milestones') }}

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

first_value as (

    select
        account_id,
        min(completed_date) as first_value_date
    from milestones
    where is_value_milestone and is_completed
    group by account_id

),

final as (

    select
        first_value.account_id,
        first_subscriptions.first_subscription_start,
        first_value.first_value_date,
        {{ dbt.datediff('first_subscriptions.first_subscription_start', 'first_value.first_value_date', 'day') }}
            as time_to_value_days
    from first_value
    inner join first_subscriptions
        on first_value.account_id = first_subscriptions.account_id

)

select * from final
