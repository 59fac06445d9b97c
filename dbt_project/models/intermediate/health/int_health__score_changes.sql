{#-
    One row per account per score date: the score lookback_days (alerts.health_drop_15) earlier
    and the change since. With weekly history the earlier score is that day's, or the latest
    scored day up to a week before it (score_30d_ago_date says which).
    is_exact: the earlier score is exactly lookback_days before (always so in the daily window).
    is_comparable: both scores rest on the same number of components. A component that appears
    (a first survey response, a source that starts delivering) re-weights the others, so a
    change across it is not a like-for-like drop; drops only count when comparable.
    is_at_risk: red band, or a comparable drop of health.at_risk_drop_pct % or more.
-#}
{%- set health = var('chw')['health'] -%}
{%- set lookback = var('chw')['alerts']['health_drop_15']['lookback_days'] -%}

with

scores as (

    select * from {{ ref('int_health__scores') }}

),

earlier as (

    select
        scores.account_id,
        scores.as_of_date,
        previous.health_score as score_30d_ago,
        previous.as_of_date as score_30d_ago_date,
        previous.coverage as coverage_30d_ago,
        row_number() over (
            partition by scores.account_id, scores.as_of_date
            order by previous.as_of_date desc
        ) as recency
    from scores
    inner join scores as previous
        on scores.account_id = previous.account_id
        and previous.as_of_date <= {{ dbt.dateadd('day', -lookback, 'scores.as_of_date') }}
        and previous.as_of_date > {{ dbt.dateadd('day', -(lookback + 7), 'scores.as_of_date') }}

),

final as (

    select
        scores.account_id,
        scores.as_of_date,
        earlier.score_30d_ago,
        cast(earlier.score_30d_ago_date as date) as score_30d_ago_date,
        coalesce(earlier.score_30d_ago_date = {{ dbt.dateadd('day', -lookback, 'scores.as_of_date') }}, false) as is_exact,
        coalesce(earlier.coverage_30d_ago = scores.coverage, false) as is_comparable,
        cast(case
            when earlier.score_30d_ago > 0
                then round(cast((scores.health_score - earlier.score_30d_ago) * cast(100 as double) / earlier.score_30d_ago as {{ rounding_type() }}), 2)
        end as {{ type_double() }}) as change_30d_pct,
        coalesce(
            scores.health_band = 'red'
            or (earlier.score_30d_ago > 0
                and earlier.coverage_30d_ago = scores.coverage
                and (scores.health_score - earlier.score_30d_ago) * cast(100 as double) / earlier.score_30d_ago
                    <= -{{ health['at_risk_drop_pct'] }}),
            false
        ) as is_at_risk
    from scores
    left join earlier
        on scores.account_id = earlier.account_id
        and scores.as_of_date = earlier.as_of_date
        and earlier.recency = 1

)

select * from final
