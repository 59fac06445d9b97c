{#- One row per account and month in which it had MRR or an MRR movement. -#}
with

account_months as (

    select * from {{ ref('int_revenue__account_mrr_periods') }}
    where grain = 'month'

),

final as (

    select
        account_id,
        period_start as month_start,
        period_end as measured_on,
        is_complete as is_complete_month,
        start_mrr,
        end_mrr,
        new_mrr,
        expansion_mrr,
        contraction_mrr,
        churned_mrr,
        reactivation_mrr,
        movement_type,
        is_active_at_start,
        is_active_at_end,
        is_new_account,
        '{{ var('chw')['reporting_currency'] }}' as reporting_currency
    from account_months

)

select * from final
