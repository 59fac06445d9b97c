{#-
    One row per alert a metric threshold raises (vars.chw.program.metrics.<metric>.threshold):
    the generic rule behind nps_below_20, csat_below_70 and any threshold configured later. A
    rule reads its metric's rolling window_days values per segment of its segment_types and is
    breached on a day whose value is below the threshold (higher_is_better) or above it
    (lower_is_better) on at least min_sample observations (threshold_breached(): equal is no
    breach, as in marts.metric_reviews). One alert per breach episode: raised on a breached day
    with no breach of the same segment in the window_days before it.

    Values come from the metric family models (the rows of marts.metric_values), not from the mart:
    the closed-loop family is computed from the alerts, so a threshold on a closed-loop metric is
    flagged in marts.metric_reviews but raises no alert. Columns are those of int_alerts__signals'
    branches; signal_type/signal_id keep the form the two rules had before they were generic
    ('segment', segment_type:segment_value:day; 'touchpoint', touchpoint:day), so alert ids of
    alerts raised before are unchanged.
-#}
{%- set rules = threshold_alert_rules() -%}
{%- set families = [
    'int_survey__metric_values',
    'int_reviews__metric_values',
    'int_service__metric_values',
    'int_usage__metric_values',
    'int_onboarding__metric_values',
    'int_health__metric_values',
] -%}
{%- set metrics = rules.values() | map(attribute='metric') | list -%}

with

{% for family in families %}
{{ family }} as (

    select * from {{ ref(family) }}

),

{% endfor -%}

responses as (

    select * from {{ ref('int_health__survey_responses') }}

),

rolling_values as (

    {%- for family in families %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select metric, window_days, period_start, segment_type, segment_value, value, sample_size
    from {{ family }}
    where grain = 'rolling'
        and metric in ('{{ (metrics or ['']) | join("', '") }}')
    {%- endfor %}

),

-- one row per rule, segment and day its rolling value is breached on enough observations
breached_days as (

    {%- for alert_type, rule in rules.items() %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        '{{ alert_type }}' as alert_type,
        {{ rule['window_days'] }} as window_days,
        segment_type,
        segment_value,
        period_start as day
    from rolling_values
    where metric = '{{ rule['metric'] }}'
        and window_days = {{ rule['window_days'] }}
        and segment_type in ('{{ rule['segment_types'] | join("', '") }}')
        and sample_size >= {{ rule['min_sample'] }}
        and {{ threshold_breached('value', rule['value'], "'" ~ rule['direction'] ~ "'") }}
    {%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as alert_type,
        0 as window_days,
        cast(null as {{ dbt.type_string() }}) as segment_type,
        cast(null as {{ dbt.type_string() }}) as segment_value,
        cast(null as date) as day
    from rolling_values
    where 1 = 0
    {%- endfor %}

),

episodes as (

    select
        *,
        lag(day) over (partition by alert_type, segment_type, segment_value order by day) as previous_breach_day
    from breached_days

),

-- a touchpoint's owner team: the survey owner team of its responses (the first by name if several)
touchpoint_owners as (

    select
        touchpoint,
        min(owner_team) as owner_team
    from responses
    where touchpoint is not null
    group by touchpoint

),

final as (

    select
        episodes.alert_type,
        cast(null as {{ dbt.type_string() }}) as account_id,
        case when episodes.segment_type = 'touchpoint' then 'touchpoint' else 'segment' end as signal_type,
        case
            when episodes.segment_type = 'touchpoint'
                then {{ dbt.concat(["episodes.segment_value", "':'", dbt.cast("episodes.day", dbt.type_string())]) }}
            else {{ dbt.concat(["episodes.segment_type", "':'", "episodes.segment_value", "':'", dbt.cast("episodes.day", dbt.type_string())]) }}
        end as signal_id,
        cast(episodes.day as {{ dbt.type_timestamp() }}) as triggered_at,
        case when episodes.segment_type = 'touchpoint' then touchpoint_owners.owner_team end as survey_owner_team
    from episodes
    left join touchpoint_owners
        on episodes.segment_type = 'touchpoint'
        and episodes.segment_value = touchpoint_owners.touchpoint
    where episodes.previous_breach_day is null
        or {{ dbt.datediff('episodes.previous_breach_day', 'episodes.day', 'day') }} >= episodes.window_days

)

select * from final
