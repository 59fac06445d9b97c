{#-
    One row per account per score date: what the churn and expansion models read
    (orchestration/lib/churn_model.py, asset models/health_weights): the components and their
    raw inputs (int_health__components), the account's tier that day and its next renewal as
    known that day (the earliest end_date of the subscriptions known and covering it, as
    account_health). Only what was known on as_of_date.
-#}

with

components as (

    select * from {{ ref('int_health__components') }}

),

account_versions as (

    select * from {{ ref('int_health__account_versions') }}

),

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

next_renewals as (

    select
        components.account_id,
        components.as_of_date,
        min(subscriptions.end_date) as renewal_date
    from components
    inner join subscriptions
        on components.account_id = subscriptions.account_id
        and subscriptions.first_extract_date <= components.as_of_date
        and subscriptions.start_date <= components.as_of_date
        and subscriptions.end_date > components.as_of_date
    group by components.account_id, components.as_of_date

),

final as (

    select
        components.*,
        account_versions.tier,
        cast(next_renewals.renewal_date as date) as renewal_date
    from components
    left join account_versions
        on components.account_id = account_versions.account_id
        and account_versions.effective_from <= components.as_of_date
        and components.as_of_date < account_versions.effective_to
    left join next_renewals
        on components.account_id = next_renewals.account_id
        and components.as_of_date = next_renewals.as_of_date

)

select * from final
