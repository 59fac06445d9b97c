{#-
    One row per account per score date (daily for the last daily_history_days days, Mondays
    before): the six health components, each 0-100 (higher is healthier) or null when the
    account has no data for it yet, computed only from what was known that day.

    usage       (1 - trend_share) x frequency + trend_share x trend. Frequency: events per
                licensed seat and day in the last 30 days / target_events_per_seat_day (active
                days / target_active_days where seats are unknown), capped at 100. Trend: events
                in the last 30 days / the 30 before; trend_floor_ratio or less -> 0, flat or
                growing -> 100; without 60 days of event history, usage is frequency alone.
    adoption    core features used in the last 30 days / core features x 100.
    onboarding  milestones completed on time / milestones due x 100.
    sentiment   mean normalized NPS/CSAT/CES of the last 90 days.
    support     100 x (1 - weighted rates): escalated, unresolved and first-response-breached
                tickets per ticket of the last 90 days (plus prior_tickets pseudo-tickets, so one
                ticket is not a 100 % rate), floored at 0. Rates, not counts: a large account
                files more tickets without being less healthy.
    engagement  points for a QBR, an executive check-in and active stakeholders in 90 days,
                each against its target.
    Parameters: vars.chw.health.components.
-#}
{%- set c = var('chw')['health']['components'] -%}

with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

usage as (

    select * from {{ ref('int_health__usage_daily') }}

),

sentiment as (

    select * from {{ ref('int_health__sentiment_daily') }}

),

support as (

    select * from {{ ref('int_health__support_daily') }}

),

engagement as (

    select * from {{ ref('int_health__engagement_daily') }}

),

onboarding as (

    select * from {{ ref('int_health__onboarding_daily') }}

),

joined as (

    select
        account_days.account_id,
        account_days.day as as_of_date,
        coalesce(usage.has_usage_source, false) as has_usage_source,
        coalesce(usage.has_usage_trend, false) as has_usage_trend,
        usage.seats,
        usage.events_last_window,
        usage.events_prior_window,
        usage.active_days_window,
        usage.core_features_used,
        usage.core_features,
        sentiment.sentiment_avg,
        sentiment.responses_in_window,
        coalesce(support.has_support_source, false) as has_support_source,
        support.tickets_in_window,
        support.unresolved_tickets,
        support.escalated_tickets,
        support.breached_first_responses,
        coalesce(engagement.has_engagement_source, false) as has_engagement_source,
        engagement.qbrs,
        engagement.exec_checkins,
        engagement.active_stakeholders,
        onboarding.milestones_due,
        onboarding.milestones_on_time
    from account_days
    left join usage
        on account_days.account_id = usage.account_id
        and account_days.day = usage.as_of_date
    left join sentiment
        on account_days.account_id = sentiment.account_id
        and account_days.day = sentiment.as_of_date
    left join support
        on account_days.account_id = support.account_id
        and account_days.day = support.as_of_date
    left join engagement
        on account_days.account_id = engagement.account_id
        and account_days.day = engagement.as_of_date
    left join onboarding
        on account_days.account_id = onboarding.account_id
        and account_days.day = onboarding.as_of_date
    where account_days.is_score_date

),

parts as (

    select
        *,
        case when has_usage_source then
            case
                when seats > 0 then least(cast(100 as double), events_last_window * cast(100 as double)
                    / (seats * {{ c['usage']['window_days'] }} * {{ c['usage']['target_events_per_seat_day'] }}))
                when active_days_window >= {{ c['usage']['target_active_days'] }} then cast(100 as double)
                else active_days_window * cast(100 as double) / {{ c['usage']['target_active_days'] }}
            end
        end as usage_frequency,
        case when has_usage_source and has_usage_trend then
            case
                when events_prior_window <= 0 and events_last_window > 0 then cast(100 as double)
                when events_prior_window <= 0 then cast(0 as double)
                when cast(events_last_window as double) / events_prior_window >= 1 then cast(100 as double)
                when cast(events_last_window as double) / events_prior_window <= {{ c['usage']['trend_floor_ratio'] }} then cast(0 as double)
                else (cast(events_last_window as double) / events_prior_window - {{ c['usage']['trend_floor_ratio'] }})
                    * cast(100 as double) / (1 - {{ c['usage']['trend_floor_ratio'] }})
            end
        end as usage_trend
    from joined

),

final as (

    select
        account_id,
        as_of_date,
        cast(round(cast(
            case
                when usage_trend is null then usage_frequency
                else (1 - {{ c['usage']['trend_share'] }}) * usage_frequency + {{ c['usage']['trend_share'] }} * usage_trend
            end as {{ rounding_type() }}),
            4) as {{ type_double() }}
        ) as usage_score,
        cast(round(cast(case
            when has_usage_source and core_features > 0
                then case when core_features_used >= core_features then cast(100 as double)
                    else core_features_used * cast(100 as double) / core_features end
        end as {{ rounding_type() }}), 4) as {{ type_double() }}) as adoption_score,
        cast(round(cast(case
            when milestones_due > 0 then milestones_on_time * cast(100 as double) / milestones_due
        end as {{ rounding_type() }}), 4) as {{ type_double() }}) as onboarding_score,
        -- rounded: a mean's last bits depend on summation order, and re-runs must be identical
        cast(round(cast(sentiment_avg as {{ rounding_type() }}), 4) as {{ type_double() }}) as sentiment_score,
        cast(round(cast(case when has_support_source then
            cast(100 as double) * greatest(cast(0 as double), cast(1 as double) - (
                {{ c['support']['escalated_weight'] }} * escalated_tickets
                + {{ c['support']['unresolved_weight'] }} * unresolved_tickets
                + {{ c['support']['breached_weight'] }} * breached_first_responses
            ) / (tickets_in_window + {{ c['support']['prior_tickets'] }}))
        end as {{ rounding_type() }}), 4) as {{ type_double() }}) as support_score,
        cast(round(cast(case when has_engagement_source then
            {{ c['engagement']['qbr_points'] }}
                * least(cast(1 as double), cast(qbrs as double) / {{ c['engagement']['qbr_target'] }})
            + {{ c['engagement']['exec_checkin_points'] }}
                * least(cast(1 as double), cast(exec_checkins as double) / {{ c['engagement']['exec_checkin_target'] }})
            + {{ c['engagement']['stakeholders_points'] }}
                * least(cast(1 as double), cast(active_stakeholders as double) / {{ c['engagement']['stakeholders_target'] }})
        end as {{ rounding_type() }}), 4) as {{ type_double() }}) as engagement_score,
        cast(round(cast(usage_frequency as {{ rounding_type() }}), 4) as {{ type_double() }}) as usage_frequency,
        cast(round(cast(usage_trend as {{ rounding_type() }}), 4) as {{ type_double() }}) as usage_trend,
        seats,
        events_last_window,
        events_prior_window,
        active_days_window,
        core_features_used,
        core_features,
        responses_in_window,
        tickets_in_window,
        unresolved_tickets,
        escalated_tickets,
        breached_first_responses,
        qbrs,
        exec_checkins,
        active_stakeholders,
        milestones_due,
        milestones_on_time
    from parts

)

select * from final
