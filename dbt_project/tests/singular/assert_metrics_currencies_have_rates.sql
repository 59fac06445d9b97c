{#- Every current subscription's currency has a rate into the reporting currency in the
    currency_rates seed: MRR is never summed across currencies unconverted. -#}
select
    subscription_id,
    account_id,
    currency
from {{ ref('int_revenue__subscriptions_converted') }}
where not has_rate
