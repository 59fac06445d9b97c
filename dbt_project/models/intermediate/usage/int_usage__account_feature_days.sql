{#-
    One row per account, day and core feature (stg_product__features, current and is_core) the
    account used that day: an event whose event_name is the feature's event_name.
-#}
with

events as (

    select * from {{ ref('stg_product__events') }}

),

features as (

    select * from {{ ref('stg_product__features') }}
    where is_current and is_core

),

account_event_days as (

    select
        account_id,
        event_name,
        {{ metric_day('occurred_at') }} as activity_date,
        count(*) as event_count
    from events
    group by account_id, event_name, {{ metric_day('occurred_at') }}

),

final as (

    select distinct
        account_event_days.account_id,
        account_event_days.activity_date,
        features.feature_key
    from account_event_days
    inner join features
        on account_event_days.event_name = features.event_name

)

select * from final
