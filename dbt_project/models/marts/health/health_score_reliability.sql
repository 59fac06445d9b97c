{#- One row per decile of predicted churn probability on the renewals held out in time. See _health__models.yml. -#}

with

reliability as (

    select * from {{ source('models', 'health_reliability') }}

),

final as (

    select
        cast(decile as integer) as decile,
        cast(predicted as {{ type_double() }}) as predicted,
        cast(observed as {{ type_double() }}) as observed,
        cast(n as bigint) as n
    from reliability

)

select * from final
