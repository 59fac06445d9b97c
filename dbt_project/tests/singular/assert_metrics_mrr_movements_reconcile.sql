{#- start MRR + new + expansion - contraction - churned + reactivation = end MRR, for every
    account and month (fct_mrr_monthly) and every account and quarter (the quarter's movements
    are its months' sums). Tolerance: half a cent of floating-point error. -#}
with

account_periods as (

    select * from {{ ref('int_revenue__account_mrr_periods') }}

),

final as (

    select
        grain,
        period_start,
        account_id,
        start_mrr,
        end_mrr,
        start_mrr + new_mrr + expansion_mrr - contraction_mrr - churned_mrr + reactivation_mrr as rolled_forward
    from account_periods
    where abs(start_mrr + new_mrr + expansion_mrr - contraction_mrr - churned_mrr + reactivation_mrr - end_mrr) > 0.005

)

select * from final
