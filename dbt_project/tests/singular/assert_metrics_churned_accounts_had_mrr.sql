{#- A churned account had MRR at the period start (and none at its end); churn counts never
    exceed the accounts at the start. -#}
with

account_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

metric_values as (

    select * from {{ ref('metric_values') }}

),

churn_without_start_mrr as (

    select
        'churned without MRR at the period start' as failure,
        account_id as detail
    from account_months
    where
        (churned_mrr > 0 or movement_type = 'churn')
        and (start_mrr <= 0 or end_mrr <> 0)

),

churn_above_start_accounts as (

    select
        'logo churn numerator above accounts at start' as failure,
        {{ dbt.concat(['grain', "' '", dbt.cast('period_start', dbt.type_string()), "' '", 'segment_type', "' '", 'segment_value']) }} as detail
    from metric_values
    where metric = 'logo_churn_rate_pct' and numerator > denominator

),

final as (

    select * from churn_without_start_mrr
    union all
    select * from churn_above_start_accounts

)

select * from final
