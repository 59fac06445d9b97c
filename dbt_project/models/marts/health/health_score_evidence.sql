{#-
    One row per evidence measure and segment. Two sources:
    - the back-test of account_health against churn (all accounts, and each tier), computed here;
      definitions in docs/metrics.md (health score evidence), settings in vars.chw.health.evidence;
    - the churn and expansion models' measures on the renewals held out in time (segment all),
      from the Python asset models/health_weights (source models.health_model_heldout).

    The back-test reads two views of the history:

    - labelled account-days: a scored day whose outcome horizon_days ahead is known (the day plus
      the horizon's end is on or before the latest extract), labelled 1 when the account churns
      between horizon_days[0] and horizon_days[1] days later; a day with a churn sooner than that
      is left out (it predicts the past). AUC, PR-AUC, base and red-band churn rates and the lift
      of the riskiest decile rank these days by -health_score.
    - churn events: every churned renewal with the account's scores on or before it, in the tier
      the account had on its last scored day. The share of churners below green 60-90 days ahead,
      the median lead from the first red day (within first_red_lookback_days) and the count.

    AUC is the Mann-Whitney statistic with tied scores at their average rank, PR-AUC the average
    precision over the distinct scores (as scikit-learn computes both); tests/test_health_e2e.py
    checks every value against scikit-learn on a built warehouse.
-#}
{%- set health = var('chw')['health'] -%}
{%- set evidence = health['evidence'] -%}
{%- set horizon = evidence.get('horizon_days', [30, 60]) -%}
{%- set below_green = evidence.get('below_green_days', [60, 90]) -%}
{%- set lookback = evidence.get('first_red_lookback_days', 180) -%}
{%- set goals = evidence.get('goals', {}) -%}
{%- set double = type_double() -%}

with

-- the back-test of account_health ----------------------------------------------------------

scores as (

    select
        account_id,
        cast(as_of_date as date) as score_date,
        cast(health_score as {{ double }}) as health_score,
        health_band,
        tier
    from {{ ref('account_health') }}
    where health_score is not null

),

churns as (

    select
        account_id,
        cast(renewal_date as date) as churn_date
    from {{ ref('int_health__renewals') }}
    where churned

),

bounds as (

    select cast(latest_extract_date as date) as latest_date
    from {{ ref('int_health__extract_bounds') }}

),

segments as (

    select 'all' as segment_type, 'all' as segment_value
    union all
    select distinct 'tier', tier from scores where tier is not null

),

-- labelled account-days ------------------------------------------------------------------

days_ahead as (

    select
        scores.account_id,
        scores.score_date,
        scores.health_score,
        scores.health_band,
        scores.tier,
        {{ dbt.datediff('scores.score_date', 'churns.churn_date', 'day') }} as days_to_churn
    from scores
    cross join bounds
    left join churns
        on scores.account_id = churns.account_id
    where {{ dbt.datediff('scores.score_date', 'bounds.latest_date', 'day') }} >= {{ horizon[1] }}

),

labelled as (

    select
        account_id,
        score_date,
        -health_score as risk,
        health_band,
        tier,
        max(case when days_to_churn between {{ horizon[0] }} and {{ horizon[1] }} then 1 else 0 end) as label
    from days_ahead
    group by account_id, score_date, health_score, health_band, tier
    having max(case when days_to_churn between 0 and {{ horizon[0] - 1 }} then 1 else 0 end) = 0

),

labelled_segments as (

    select 'all' as segment_type, 'all' as segment_value, risk, health_band, label from labelled
    union all
    select 'tier', tier, risk, health_band, label from labelled where tier is not null

),

ranked as (

    select
        segment_type,
        segment_value,
        label,
        -- average rank of tied scores: rank() gives the lowest of the tied ranks
        rank() over (partition by segment_type, segment_value order by risk)
        + cast(count(*) over (partition by segment_type, segment_value, risk) - 1 as {{ double }}) / 2 as avg_rank
    from labelled_segments

),

rank_sums as (

    select
        segment_type,
        segment_value,
        count(*) as n_days,
        sum(label) as n_churn_days,
        sum(case when label = 1 then avg_rank else 0 end) as churn_rank_sum
    from ranked
    group by segment_type, segment_value

),

by_score as (

    select
        segment_type,
        segment_value,
        risk,
        count(*) as n_days,
        sum(label) as n_churn_days
    from labelled_segments
    group by segment_type, segment_value, risk

),

precision_at as (

    select
        segment_type,
        segment_value,
        n_churn_days,
        sum(n_churn_days) over (
            partition by segment_type, segment_value order by risk desc rows between unbounded preceding and current row
        ) as churn_days_at_or_above,
        sum(n_days) over (
            partition by segment_type, segment_value order by risk desc rows between unbounded preceding and current row
        ) as days_at_or_above
    from by_score

),

average_precision as (

    select
        segment_type,
        segment_value,
        sum(cast(n_churn_days as {{ double }}) * churn_days_at_or_above / days_at_or_above)
        / nullif(sum(n_churn_days), 0) as pr_auc
    from precision_at
    group by segment_type, segment_value

),

top_decile_cut as (

    select
        segment_type,
        segment_value,
        {{ metric_quantile('risk', 0.9) }} as cut
    from labelled_segments
    group by segment_type, segment_value

),

rates as (

    select
        labelled_segments.segment_type,
        labelled_segments.segment_value,
        avg(cast(labelled_segments.label as {{ double }})) as base_rate,
        sum(case when labelled_segments.health_band = 'red' then 1 else 0 end) as n_red_days,
        avg(case when labelled_segments.health_band = 'red' then cast(labelled_segments.label as {{ double }}) end) as red_rate,
        avg(case when labelled_segments.risk >= top_decile_cut.cut then cast(labelled_segments.label as {{ double }}) end) as top_decile_rate
    from labelled_segments
    inner join top_decile_cut
        on labelled_segments.segment_type = top_decile_cut.segment_type
        and labelled_segments.segment_value = top_decile_cut.segment_value
    group by labelled_segments.segment_type, labelled_segments.segment_value

),

-- churn events -----------------------------------------------------------------------------

events as (

    select
        churns.account_id,
        churns.churn_date,
        scores.score_date,
        scores.health_score,
        scores.health_band,
        scores.tier,
        {{ dbt.datediff('scores.score_date', 'churns.churn_date', 'day') }} as days_before
    from churns
    inner join scores
        on churns.account_id = scores.account_id
        and scores.score_date <= churns.churn_date

),

tier_at_churn as (

    select account_id, churn_date, tier
    from (
        select
            account_id,
            churn_date,
            tier,
            row_number() over (partition by account_id, churn_date order by score_date desc) as recency
        from events
        where tier is not null
    ) as tiers
    where recency = 1

),

event_keys as (

    select distinct
        events.account_id,
        events.churn_date,
        tier_at_churn.tier
    from events
    left join tier_at_churn
        on events.account_id = tier_at_churn.account_id
        and events.churn_date = tier_at_churn.churn_date

),

per_event as (

    select
        event_keys.account_id,
        event_keys.churn_date,
        event_keys.tier,
        avg(case when events.days_before between {{ below_green[0] }} and {{ below_green[1] }} then events.health_score end) as score_before,
        min(case when events.health_band = 'red' and events.days_before between 0 and {{ lookback }} then events.score_date end) as first_red_date
    from event_keys
    inner join events
        on event_keys.account_id = events.account_id
        and event_keys.churn_date = events.churn_date
    group by event_keys.account_id, event_keys.churn_date, event_keys.tier

),

per_event_segments as (

    select 'all' as segment_type, 'all' as segment_value, churn_date, score_before, first_red_date from per_event
    union all
    select 'tier', tier, churn_date, score_before, first_red_date from per_event where tier is not null

),

event_measures as (

    select
        segment_type,
        segment_value,
        count(*) as n_events,
        count(score_before) as n_events_scored_before,
        avg(cast(case when score_before is not null then case when score_before < {{ health['bands']['green'] }} then 1 else 0 end end as {{ double }})) as below_green_share,
        count(first_red_date) as n_events_red,
        {{ metric_median(dbt.datediff('first_red_date', 'churn_date', 'day')) }} as median_lead_days
    from per_event_segments
    group by segment_type, segment_value

),

-- the latest scored day --------------------------------------------------------------------

latest_day as (

    select max(score_date) as score_date from scores

),

latest_scores as (

    select
        scores.health_band,
        scores.tier
    from scores
    inner join latest_day
        on scores.score_date = latest_day.score_date

),

latest as (

    select
        'all' as segment_type,
        'all' as segment_value,
        health_band
    from latest_scores
    union all
    select
        'tier',
        tier,
        health_band
    from latest_scores
    where tier is not null

),

latest_measures as (

    select
        segment_type,
        segment_value,
        count(*) as n_latest,
        avg(cast(case when health_band = 'green' then 1 else 0 end as {{ double }})) as green_share
    from latest
    group by segment_type, segment_value

),

per_segment as (

    select
        segments.segment_type,
        segments.segment_value,
        coalesce(rank_sums.n_days, 0) as n_days,
        -- both outcomes among the days, else no ranking measure
        case
            when rank_sums.n_churn_days > 0 and rank_sums.n_churn_days < rank_sums.n_days
                then
                    (rank_sums.churn_rank_sum - cast(rank_sums.n_churn_days as {{ double }}) * (rank_sums.n_churn_days + 1) / 2)
                    / (cast(rank_sums.n_churn_days as {{ double }}) * (rank_sums.n_days - rank_sums.n_churn_days))
        end as auc,
        case
            when rank_sums.n_churn_days > 0 and rank_sums.n_churn_days < rank_sums.n_days then average_precision.pr_auc
        end as pr_auc,
        rates.base_rate,
        coalesce(rates.n_red_days, 0) as n_red_days,
        rates.red_rate,
        rates.red_rate / nullif(rates.base_rate, 0) as red_multiple,
        case
            when rank_sums.n_churn_days > 0 and rank_sums.n_churn_days < rank_sums.n_days and rank_sums.n_days >= 10
                then rates.top_decile_rate / rates.base_rate
        end as top_decile_lift,
        coalesce(event_measures.n_events, 0) as n_events,
        coalesce(event_measures.n_events_scored_before, 0) as n_events_scored_before,
        event_measures.below_green_share,
        coalesce(event_measures.n_events_red, 0) as n_events_red,
        event_measures.median_lead_days,
        coalesce(latest_measures.n_latest, 0) as n_latest,
        latest_measures.green_share
    from segments
    left join rank_sums
        on segments.segment_type = rank_sums.segment_type and segments.segment_value = rank_sums.segment_value
    left join average_precision
        on segments.segment_type = average_precision.segment_type and segments.segment_value = average_precision.segment_value
    left join rates
        on segments.segment_type = rates.segment_type and segments.segment_value = rates.segment_value
    left join event_measures
        on segments.segment_type = event_measures.segment_type and segments.segment_value = event_measures.segment_value
    left join latest_measures
        on segments.segment_type = latest_measures.segment_type and segments.segment_value = latest_measures.segment_value

),

{#- measure, value, observations it rests on, goal, whether a higher value is better -#}
{%- set measures = [
    ('auc_churn_30_60d', 'auc', 'n_days', goals.get('auc'), true),
    ('pr_auc_churn_30_60d', 'pr_auc', 'n_days', none, true),
    ('base_churn_rate_30_60d', 'base_rate', 'n_days', none, true),
    ('red_churn_rate_30_60d', 'red_rate', 'n_red_days', none, true),
    ('red_churn_multiple', 'red_multiple', 'n_red_days', goals.get('red_churn_multiple'), true),
    ('lift_top_decile_30_60d', 'top_decile_lift', 'n_days', none, true),
    ('churned_below_green_60_90d_share', 'below_green_share', 'n_events_scored_before', goals.get('churned_below_green_share'), true),
    ('median_lead_days_first_red_to_churn', 'median_lead_days', 'n_events_red', none, true),
    ('churn_events_scored', 'n_events', 'n_events', none, true),
    ('green_share', 'green_share', 'n_latest', goals.get('green_share_max'), false),
] %}

measures as (

    {% for measure, value, n, goal, higher_is_better in measures %}
    select
        '{{ measure }}' as measure,
        segment_type,
        segment_value,
        cast({{ value }} as {{ double }}) as value,
        cast({{ goal if goal is not none else 'null' }} as {{ double }}) as goal,
        cast({{ n }} as bigint) as sample_size
    from per_segment
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

backtest as (

    select
        measure,
        segment_type,
        segment_value,
        value,
        goal,
        case
            when value is null or goal is null then cast(null as boolean)
            {%- for measure, value, n, goal, higher_is_better in measures if not higher_is_better %}
            when measure = '{{ measure }}' then value <= goal
            {%- endfor %}
            else value >= goal
        end as meets_goal,
        sample_size
    from measures

),

-- the churn and expansion models on held-out renewals ------------------------------------------

heldout as (

    select * from {{ source('models', 'health_model_heldout') }}

),

unioned as (

    select
        measure,
        segment_type,
        segment_value,
        value,
        goal,
        meets_goal,
        sample_size,
        cast(null as {{ dbt.type_string() }}) as value_text
    from backtest
    union all
    select
        measure,
        segment_type,
        segment_value,
        value,
        goal,
        meets_goal,
        sample_size,
        value_text
    from heldout

),

final as (

    select
        cast(measure as {{ dbt.type_string() }}) as measure,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(value as {{ double }}) as value,
        cast(goal as {{ double }}) as goal,
        cast(meets_goal as boolean) as meets_goal,
        cast(sample_size as bigint) as sample_size,
        cast(value_text as {{ dbt.type_string() }}) as value_text
    from unioned

)

select * from final
