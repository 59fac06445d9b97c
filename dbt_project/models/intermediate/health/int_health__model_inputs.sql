{#-
    One row per account per score date: what the churn and expansion models read
    (orchestration/lib/models/churn_model.py, asset models/health_weights): the components and their
    raw inputs (int_health__components), the account's tier that day and its next renewal as
    known that day (the earliest end_date of the subscriptions known and covering it, as
    account_health) with its contract term in days (the longest subscription ending that day:
    a co-terminous seat pack or add-on is shorter than the term it joins). The term matters on
    its own: a monthly contract renews twelve times a year, so its chance of churning at one
    renewal is a fraction of an annual contract's. Only what was known on as_of_date.
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

covering as (

    select
        components.account_id,
        components.as_of_date,
        subscriptions.end_date,
        {{ dbt.datediff('subscriptions.start_date', 'subscriptions.end_date', 'day') }} as term_days
    from components
    inner join subscriptions
        on components.account_id = subscriptions.account_id
        and subscriptions.first_extract_date <= components.as_of_date
        and subscriptions.start_date <= components.as_of_date
        and subscriptions.end_date > components.as_of_date

),

next_renewals as (

    select
        account_id,
        as_of_date,
        min(end_date) as renewal_date
    from covering
    group by account_id, as_of_date

),

next_terms as (

    select
        covering.account_id,
        covering.as_of_date,
        max(covering.term_days) as contract_term_days
    from covering
    inner join next_renewals
        on covering.account_id = next_renewals.account_id
        and covering.as_of_date = next_renewals.as_of_date
        and covering.end_date = next_renewals.renewal_date
    group by covering.account_id, covering.as_of_date

),

final as (

    select
        components.*,
        account_versions.tier,
        cast(next_renewals.renewal_date as date) as renewal_date,
        cast(next_terms.contract_term_days as integer) as contract_term_days
    from components
    left join account_versions
        on components.account_id = account_versions.account_id
        and account_versions.effective_from <= components.as_of_date
        and components.as_of_date < account_versions.effective_to
    left join next_renewals
        on components.account_id = next_renewals.account_id
        and components.as_of_date = next_renewals.as_of_date
    left join next_terms
        on components.account_id = next_terms.account_id
        and components.as_of_date = next_terms.as_of_date

)

select * from final
