{#-
    One row per alert a rule of docs/metrics.md ("Alerts") raises, before owners and follow-up:
    alert_type, account_id, signal_type, signal_id, triggered_at, plus the survey owner team
    where the signal is a survey. Thresholds come from vars.chw.alerts.

    Point rules fire once per signal (a response). Rolling rules fire once per breach episode:
    on the first day (or response) the condition holds with no breach in the rule's window
    before it (window_days; lookback_days for health_drop_15), so a breach that lasts a month, or
    flaps around its threshold, raises one alert, not thirty. Metric thresholds (nps_below_20,
    csat_below_70, any vars.chw.program.metrics.<metric>.threshold) are one generic rule over the
    metric's rolling values: int_alerts__threshold_breaches.
-#}
{%- set a = var('chw')['alerts'] -%}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

responses as (

    select * from {{ ref('int_health__survey_responses') }}

),

score_changes as (

    select * from {{ ref('int_health__score_changes') }}

),

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

threshold_breaches as (

    select * from {{ ref('int_alerts__threshold_breaches') }}

),

-- point rules ---------------------------------------------------------------------------------
nps_detractor as (

    select
        'nps_detractor' as alert_type,
        account_id,
        'survey_response' as signal_type,
        response_id as signal_id,
        responded_at as triggered_at,
        owner_team as survey_owner_team
    from responses
    where is_detractor

),

low_csat as (

    select
        'low_csat' as alert_type,
        account_id,
        'survey_response' as signal_type,
        response_id as signal_id,
        responded_at as triggered_at,
        owner_team as survey_owner_team
    from responses
    where is_low_csat

),

-- high_effort_repeat: min_count high-effort CES responses of one account within window_days;
-- raised on the response that starts a breach
high_effort as (

    select * from responses where is_high_effort and account_id is not null

),

high_effort_windows as (

    select
        high_effort.response_id,
        high_effort.account_id,
        high_effort.responded_at,
        high_effort.owner_team,
        count(*) as responses_in_window
    from high_effort
    inner join high_effort as earlier
        on high_effort.account_id = earlier.account_id
        and earlier.responded_at <= high_effort.responded_at
        and earlier.responded_at > {{ dbt.dateadd('day', -a['high_effort_repeat']['window_days'], 'high_effort.responded_at') }}
    group by high_effort.response_id, high_effort.account_id, high_effort.responded_at, high_effort.owner_team

),

high_effort_episodes as (

    select
        *,
        responses_in_window >= {{ a['high_effort_repeat']['min_count'] }} as is_breach,
        lag(responses_in_window >= {{ a['high_effort_repeat']['min_count'] }}) over (
            partition by account_id order by responded_at, response_id
        ) as was_breach
    from high_effort_windows

),

high_effort_repeat as (

    select
        'high_effort_repeat' as alert_type,
        account_id,
        'survey_response' as signal_type,
        response_id as signal_id,
        responded_at as triggered_at,
        owner_team as survey_owner_team
    from high_effort_episodes
    where is_breach and not coalesce(was_breach, false)

),

-- health_drop_15: a comparable score drop_pct % or more below the score lookback_days earlier, per episode
health_breaches as (

    select
        account_id,
        as_of_date,
        lag(as_of_date) over (partition by account_id order by as_of_date) as previous_breach_day
    from score_changes
    where is_comparable
        and is_exact
        and change_30d_pct <= -{{ a['health_drop_15']['drop_pct'] }}

),

health_drop_15 as (

    select
        'health_drop_15' as alert_type,
        health_breaches.account_id,
        'account_health' as signal_type,
        {{ dbt.concat(["health_breaches.account_id", "':'", dbt.cast("health_breaches.as_of_date", dbt.type_string())]) }} as signal_id,
        cast(health_breaches.as_of_date as {{ dbt.type_timestamp() }}) as triggered_at,
        cast(null as {{ dbt.type_string() }}) as survey_owner_team
    from health_breaches
    cross join bounds
    -- raised in the daily window, where every earlier breach of its lookback is known exactly
    where health_breaches.as_of_date > {{ dbt.dateadd('day', -var('chw')['health']['daily_history_days'], 'bounds.latest_extract_date') }}
        and (health_breaches.previous_breach_day is null
            or health_breaches.previous_breach_day
                <= {{ dbt.dateadd('day', -a['health_drop_15']['lookback_days'], 'health_breaches.as_of_date') }})

),

-- review_misalignment: a complete quarter whose CSAT % or NPS rose while review ratings fell
survey_quarters as (

    select
        cast({{ dbt.date_trunc('quarter', 'responded_date') }} as date) as quarter_start,
        case when sum(case when metric = 'csat' then 1 else 0 end) > 0 then
            sum(case when is_csat_satisfied then 1 else 0 end) * cast(100 as double)
                / sum(case when metric = 'csat' then 1 else 0 end)
        end as csat_pct,
        case when sum(case when metric = 'nps' then 1 else 0 end) > 0 then
            (sum(case when is_promoter then 1 else 0 end) - sum(case when is_detractor then 1 else 0 end)) * cast(100 as double)
                / sum(case when metric = 'nps' then 1 else 0 end)
        end as nps
    from responses
    group by cast({{ dbt.date_trunc('quarter', 'responded_date') }} as date)

),

review_quarters as (

    select
        cast({{ dbt.date_trunc('quarter', 'reviewed_at') }} as date) as quarter_start,
        avg(rating * cast(5 as double) / rating_scale_max) as review_rating_avg
    from reviews
    where rating_scale_max > 0
        and reviewed_at is not null
    group by cast({{ dbt.date_trunc('quarter', 'reviewed_at') }} as date)

),

quarters as (

    select
        review_quarters.quarter_start,
        survey_quarters.csat_pct,
        survey_quarters.nps,
        review_quarters.review_rating_avg,
        lag(review_quarters.quarter_start) over (order by review_quarters.quarter_start) as previous_quarter_start,
        lag(survey_quarters.csat_pct) over (order by review_quarters.quarter_start) as previous_csat_pct,
        lag(survey_quarters.nps) over (order by review_quarters.quarter_start) as previous_nps,
        lag(review_quarters.review_rating_avg) over (order by review_quarters.quarter_start) as previous_review_rating_avg
    from review_quarters
    inner join survey_quarters
        on review_quarters.quarter_start = survey_quarters.quarter_start

),

review_misalignment as (

    select
        'review_misalignment' as alert_type,
        cast(null as {{ dbt.type_string() }}) as account_id,
        'quarter' as signal_type,
        {{ dbt.cast("quarters.quarter_start", dbt.type_string()) }} as signal_id,
        cast({{ dbt.dateadd('month', 3, 'quarters.quarter_start') }} as {{ dbt.type_timestamp() }}) as triggered_at,
        cast(null as {{ dbt.type_string() }}) as survey_owner_team
    from quarters
    cross join bounds
    where quarters.previous_quarter_start = cast({{ dbt.dateadd('month', -3, 'quarters.quarter_start') }} as date)
        and cast({{ dbt.dateadd('month', 3, 'quarters.quarter_start') }} as date) <= {{ dbt.dateadd('day', 1, 'bounds.latest_extract_date') }}
        and (quarters.csat_pct > quarters.previous_csat_pct or quarters.nps > quarters.previous_nps)
        and quarters.review_rating_avg < quarters.previous_review_rating_avg

),

-- expansion_opportunity: its own model (the expansion model's top band, healthy, seats or usage growing)
expansion_opportunity as (

    select * from {{ ref('int_alerts__expansion_opportunities') }}

),

unioned as (

    select * from nps_detractor
    union all
    select * from low_csat
    union all
    select * from high_effort_repeat
    union all
    select alert_type, account_id, signal_type, signal_id, triggered_at, survey_owner_team
    from threshold_breaches
    union all
    select * from health_drop_15
    union all
    select * from review_misalignment
    union all
    select * from expansion_opportunity

),

final as (

    select
        {{ dbt.hash(dbt.concat(["alert_type", "'|'", "signal_type", "'|'", "signal_id"])) }} as alert_id,
        alert_type,
        account_id,
        signal_type,
        signal_id,
        triggered_at,
        survey_owner_team
    from unioned

)

select * from final
