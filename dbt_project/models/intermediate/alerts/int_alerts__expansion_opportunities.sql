{#-
    One row per expansion_opportunity alert (docs/metrics.md "Alerts"), in the columns of
    int_alerts__signals: an account-day whose expansion propensity is in the top band
    (int_health__scores.is_expansion_high) while the account is healthy (not at risk, band not
    red), with seats near their licensed count (the peak of daily active users in the last 30
    days >= min_seat_utilization x seats) or usage growing (events in the last 30 days at least
    min_usage_growth_pct % above the 30 before). Raised once per episode: on the first such day
    with none in the episode_days days before, in the daily window (as health_drop_15).
    Parameters: vars.chw.alerts.expansion_opportunity. Empty while the model is not in force.
-#}
{%- set rule = var('chw')['alerts']['expansion_opportunity'] -%}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

scores as (

    select * from {{ ref('int_health__scores') }}

),

score_changes as (

    select * from {{ ref('int_health__score_changes') }}

),

components as (

    select * from {{ ref('int_health__components') }}

),

account_days as (

    select * from {{ ref('int_usage__account_days') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

candidates as (

    select
        scores.account_id,
        scores.as_of_date,
        components.seats,
        components.events_last_window,
        components.events_prior_window
    from scores
    inner join score_changes
        on scores.account_id = score_changes.account_id
        and scores.as_of_date = score_changes.as_of_date
    inner join components
        on scores.account_id = components.account_id
        and scores.as_of_date = components.as_of_date
    where scores.is_expansion_high
        and not coalesce(score_changes.is_at_risk, false)
        and coalesce(scores.health_band, 'red') <> 'red'

),

-- peak daily active users in the 30 days up to the day, for the candidate days only
peak_users as (

    select
        candidates.account_id,
        candidates.as_of_date,
        max(account_days.active_users) as peak_daily_users
    from candidates
    inner join account_days
        on candidates.account_id = account_days.account_id
        and account_days.activity_date <= candidates.as_of_date
        and account_days.activity_date > {{ dbt.dateadd('day', -30, 'candidates.as_of_date') }}
    group by candidates.account_id, candidates.as_of_date

),

qualifying as (

    select
        candidates.account_id,
        candidates.as_of_date,
        lag(candidates.as_of_date) over (
            partition by candidates.account_id order by candidates.as_of_date
        ) as previous_day
    from candidates
    left join peak_users
        on candidates.account_id = peak_users.account_id
        and candidates.as_of_date = peak_users.as_of_date
    where (candidates.seats > 0
            and peak_users.peak_daily_users >= {{ rule['min_seat_utilization'] }} * candidates.seats)
        or (candidates.events_prior_window > 0
            and cast(candidates.events_last_window as {{ type_double() }})
                >= (1 + {{ rule['min_usage_growth_pct'] }} / cast(100 as double)) * candidates.events_prior_window)

),

final as (

    select
        'expansion_opportunity' as alert_type,
        qualifying.account_id,
        'account_expansion' as signal_type,
        {{ dbt.concat(["qualifying.account_id", "':'", dbt.cast("qualifying.as_of_date", dbt.type_string())]) }} as signal_id,
        cast(qualifying.as_of_date as {{ dbt.type_timestamp() }}) as triggered_at,
        cast(null as {{ dbt.type_string() }}) as survey_owner_team
    from qualifying
    cross join bounds
    where qualifying.as_of_date > {{ dbt.dateadd('day', -var('chw')['health']['daily_history_days'], 'bounds.latest_extract_date') }}
        and (qualifying.previous_day is null
            or qualifying.previous_day <= {{ dbt.dateadd('day', -rule['episode_days'], 'qualifying.as_of_date') }})

)

select * from final
