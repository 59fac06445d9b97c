{#- Every *_pct metric and acsi_index lie within 0..100 and nps within -100..100 (their interval
    bounds too).
    Three percentages are not shares and are bounded below only: nrr_pct (expansion lifts it above
    100), customer_retention_rate_pct (reactivated accounts are in the end count but not the
    start count) at 0, and usage_change_pct (a percentage change) at -100. -#}
with

metric_values as (

    select * from {{ ref('metric_values') }}

),

final as (

    select *
    from metric_values
    where
        (
            {{ dbt.right('metric', 4) }} = '_pct'
            and metric not in ('usage_change_pct', 'nrr_pct', 'customer_retention_rate_pct')
            and (
                value < 0 or value > 100
                or ci_low < 0 or ci_high > 100
            )
        )
        or (
            metric = 'nps'
            and (
                value < -100 or value > 100
                or ci_low < -100 or ci_high > 100
            )
        )
        or (
            metric = 'acsi_index'
            and (
                value < 0 or value > 100
                or ci_low < 0 or ci_high > 100
            )
        )
        or (metric in ('nrr_pct', 'customer_retention_rate_pct') and value < 0)
        or (metric = 'usage_change_pct' and value < -100)

)

select * from final
