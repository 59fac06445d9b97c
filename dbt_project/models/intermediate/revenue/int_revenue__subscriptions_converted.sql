{#-
    One row per current subscription (in the latest CRM snapshot) with its MRR converted into
    the reporting currency (vars.chw.reporting_currency) with the currency_rates seed.
    has_rate is false where the seed has no rate: such a subscription has no mrr_reporting
    (it is never summed in another currency) and fails assert_revenue_currencies_have_rates.
-#}
with

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

rates as (

    select * from {{ ref('currency_rates') }}
    where reporting_currency = '{{ var('chw')['reporting_currency'] }}'

),

final as (

    select
        subscriptions.subscription_id,
        subscriptions.account_id,
        subscriptions.product,
        subscriptions.start_date,
        subscriptions.end_date,
        subscriptions.status,
        subscriptions.seats,
        subscriptions.currency,
        subscriptions.mrr,
        rates.rate_to_reporting,
        subscriptions.mrr * rates.rate_to_reporting as mrr_reporting,
        rates.currency is not null as has_rate
    from subscriptions
    left join rates
        on upper(subscriptions.currency) = rates.currency
    where subscriptions.is_current

)

select * from final
