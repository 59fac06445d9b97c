{#-
    Closed-loop metrics of docs/metrics.md in the long format of marts.metric_values, by the alert's
    triggered_at (grains day, week, month; segments all, tier and csm_owner as of the trigger):
    - detractor_followup_48h_pct: NPS detractor alerts followed up within
      alerts.nps_detractor.due_hours / detractor alerts x 100 (Wilson interval).
    - signal_to_response_median_hours: median hours from trigger to follow-up, all alert types.
    - detractor_recovery_pct: followed-up detractors whose next NPS response (same contact, else
      same account) is higher / followed-up detractors with a next response x 100.
-#}
{%- set min_n = var('chw')['min_sample_size'] -%}
{%- set hours = var('chw')['alerts']['nps_detractor']['due_hours'] -%}
{%- set grains = ['day', 'week', 'month'] -%}
{%- set segments = {'all': "'all'", 'tier': 'tier', 'csm_owner': 'csm_owner_id'} -%}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

alerts as (

    select * from {{ ref('alerts') }}

),

responses as (

    select * from {{ ref('int_health__survey_responses') }}

),

account_versions as (

    select * from {{ ref('int_health__account_versions') }}

),

nps_responses as (

    select
        response_id,
        coalesce(contact_id, {{ dbt.concat(["'account:'", "account_id"]) }}) as respondent,
        responded_at,
        score,
        lead(score) over (
            partition by coalesce(contact_id, {{ dbt.concat(["'account:'", "account_id"]) }})
            order by responded_at, response_id
        ) as next_score
    from responses
    where metric = 'nps'

),

alert_facts as (

    select
        alerts.alert_id,
        alerts.alert_type,
        alerts.triggered_at,
        account_versions.tier,
        account_versions.csm_owner_id,
        case when alerts.followed_up_at is not null
            then {{ dbt.datediff('alerts.triggered_at', 'alerts.followed_up_at', 'second') }} / cast(3600 as double)
        end as response_hours,
        alerts.followed_up_at is not null
            and alerts.followed_up_at <= {{ dbt.dateadd('hour', hours, 'alerts.triggered_at') }} as followed_within,
        nps_responses.next_score,
        nps_responses.score
    from alerts
    left join account_versions
        on alerts.account_id = account_versions.account_id
        and account_versions.effective_from <= cast(alerts.triggered_at as date)
        and cast(alerts.triggered_at as date) < account_versions.effective_to
    left join nps_responses
        on alerts.alert_type = 'nps_detractor'
        and alerts.signal_id = nps_responses.response_id

),

periods as (

    {%- for grain in grains %}
    select
        '{{ grain }}' as grain,
        cast({{ dbt.date_trunc(grain, 'triggered_at') }} as date) as period_start,
        alert_facts.*
    from alert_facts
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

aggregated as (

    {%- for segment_type, expression in segments.items() %}
    select
        grain,
        period_start,
        '{{ segment_type }}' as segment_type,
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), 'unknown') as segment_value,
        sum(case when alert_type = 'nps_detractor' then 1 else 0 end) as detractors,
        sum(case when alert_type = 'nps_detractor' and followed_within then 1 else 0 end) as detractors_followed_within,
        percentile_cont(0.5) within group (order by response_hours) as median_response_hours,
        count(response_hours) as followed_up_alerts,
        sum(case
            when alert_type = 'nps_detractor' and response_hours is not null and next_score is not null then 1 else 0
        end) as followed_with_next,
        sum(case
            when alert_type = 'nps_detractor' and response_hours is not null and next_score > score then 1 else 0
        end) as recovered
    from periods
    group by 1, 2, 3, 4
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

ratios as (

    select
        'detractor_followup_48h_pct' as metric,
        grain,
        period_start,
        segment_type,
        segment_value,
        detractors_followed_within as numerator,
        detractors as denominator
    from aggregated
    where detractors > 0
    union all
    select
        'detractor_recovery_pct',
        grain,
        period_start,
        segment_type,
        segment_value,
        recovered,
        followed_with_next
    from aggregated
    where followed_with_next > 0

),

wilson as (

    select
        *,
        cast(numerator as double) / denominator as p
    from ratios

),

final as (

    select
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(grain as {{ dbt.type_string() }}) as grain,
        period_start,
        cast(null as integer) as window_days,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(p * 100 as {{ type_double() }}) as value,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,
        cast(denominator as bigint) as sample_size,
        cast({{ metric_round(metric_wilson_bound('cast(numerator as double)', 'cast(denominator as double)', -1)) }} as {{ type_double() }}) as ci_low,
        cast({{ metric_round(metric_wilson_bound('cast(numerator as double)', 'cast(denominator as double)', 1)) }} as {{ type_double() }}) as ci_high,
        denominator < {{ min_n }} as is_low_sample
    from wilson
    union all
    select
        'signal_to_response_median_hours',
        grain,
        period_start,
        cast(null as integer),
        segment_type,
        segment_value,
        cast(median_response_hours as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        cast(followed_up_alerts as bigint),
        cast(null as {{ type_double() }}),
        cast(null as {{ type_double() }}),
        followed_up_alerts < {{ min_n }}
    from aggregated
    where followed_up_alerts > 0

)

select * from final
