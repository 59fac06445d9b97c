{#- One row per health component: the weight account_health uses, and the evidence of its fit. -#}

with

weights as (

    select * from {{ source('models', 'health_weights') }}

),

final as (

    select
        cast(component as {{ dbt.type_string() }}) as component,
        cast(weight as {{ type_double() }}) as weight,
        cast(source as {{ dbt.type_string() }}) as weights_source,
        cast(n_renewals as bigint) as n_renewals,
        cast(auc_validation as {{ type_double() }}) as auc_validation
    from weights

)

select * from final
