{#- GRR never exceeds 100 and never exceeds NRR (same grain, period and segment). -#}
with

metric_values as (

    select * from {{ ref('metric_values') }}

),

grr as (

    select * from metric_values where metric = 'grr_pct'

),

nrr as (

    select * from metric_values where metric = 'nrr_pct'

),

final as (

    select
        grr.grain,
        grr.period_start,
        grr.segment_type,
        grr.segment_value,
        grr.value as grr_pct,
        nrr.value as nrr_pct
    from grr
    left join nrr
        on grr.grain = nrr.grain
        and grr.period_start = nrr.period_start
        and grr.segment_type = nrr.segment_type
        and grr.segment_value = nrr.segment_value
    where
        grr.value > 100 + 1e-9
        or nrr.value is null
        or grr.value > nrr.value + 1e-9

)

select * from final
