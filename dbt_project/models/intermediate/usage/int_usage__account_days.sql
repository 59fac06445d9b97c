{#-
    One row per account and day with product events: events, active users (distinct users
    with an event that day, from int_usage__user_days) and core features used that day.
-#}
with

user_days as (

    select * from {{ ref('int_usage__user_days') }}

),

feature_days as (

    select * from {{ ref('int_usage__account_feature_days') }}

),

usage_by_day as (

    select
        account_id,
        activity_date,
        sum(event_count) as event_count,
        count(user_id) as active_users
    from user_days
    group by account_id, activity_date

),

features_by_day as (

    select
        account_id,
        activity_date,
        count(*) as core_features_used
    from feature_days
    group by account_id, activity_date

),

final as (

    select
        usage_by_day.account_id,
        usage_by_day.activity_date,
        cast(usage_by_day.event_count as {{ dbt.type_bigint() }}) as event_count,
        cast(usage_by_day.active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(coalesce(features_by_day.core_features_used, 0) as {{ dbt.type_bigint() }}) as core_features_used
    from usage_by_day
    left join features_by_day
        on usage_by_day.account_id = features_by_day.account_id
        and usage_by_day.activity_date = features_by_day.activity_date

)

select * from final
