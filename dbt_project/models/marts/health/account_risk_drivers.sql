{#-
    One row per account, day scored in the last health.model.explain_days days and driver rank
    (1-3): what drives the account's churn risk that day. See _health__models.yml.
-#}

with

drivers as (

    select * from {{ source('models', 'health_risk_drivers') }}

),

published as (

    select account_id, as_of_date from {{ ref('account_health') }}

),

final as (

    select
        cast(drivers.account_id as {{ dbt.type_string() }}) as account_id,
        cast(drivers.as_of_date as date) as as_of_date,
        cast(drivers.driver_rank as integer) as driver_rank,
        cast(drivers.feature as {{ dbt.type_string() }}) as feature,
        cast(drivers.contribution as {{ type_double() }}) as contribution,
        cast(drivers.feature_value as {{ type_double() }}) as feature_value
    from drivers
    -- the days account_health shows (not blocked, published)
    inner join published
        on drivers.account_id = published.account_id
        and cast(drivers.as_of_date as date) = published.as_of_date

)

select * from final
