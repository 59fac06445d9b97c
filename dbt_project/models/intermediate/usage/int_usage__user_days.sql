{#-
    One row per account, user and day with product events: the one pass over the (large)
    events feed that every user-level usage measure reads. Events without a user_id are kept
    in one row per account and day with user_id null (they count as events, not as users).
-#}
with

events as (

    select * from {{ ref('stg_product__events') }}

),

final as (

    select
        account_id,
        user_id,
        {{ metric_day('occurred_at') }} as activity_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as event_count
    from events
    group by account_id, user_id, {{ metric_day('occurred_at') }}

)

select * from final
