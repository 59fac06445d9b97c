{#-
    One row per metric: its definition and unit (seeds/metric_definitions.csv) with its owner
    team, review cadence, direction, threshold and place in the headline set
    (vars.chw.program). See _program__models.yml.
-#}
{%- set metrics = program_metrics() -%}
{%- set program = var('chw')['program'] -%}
{%- set headline = program_headline() -%}
{%- set string = dbt.type_string() -%}
{%- set double = type_double() -%}
{%- set bigint = dbt.type_bigint() -%}

with

definitions as (

    select * from {{ ref('metric_definitions') }}

),

configured as (

    {%- for metric, cfg in metrics.items() %}
    {%- set t = cfg['threshold'] %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        '{{ metric }}' as metric,
        '{{ cfg['owner_team'] }}' as owner_team,
        '{{ cfg['cadence'] }}' as cadence,
        '{{ cfg['direction'] }}' as direction,
        {%- if t %}
        cast({{ t['value'] }} as {{ double }}) as threshold,
        '{{ t['grain'] }}' as threshold_grain,
        cast({{ t['window_days'] }} as {{ bigint }}) as threshold_window_days,
        cast({{ t['min_sample'] }} as {{ bigint }}) as threshold_min_sample,
        '{{ t['segment_types'] | join(',') }}' as threshold_segment_types,
        '{{ t['alert_type'] }}' as alert_type,
        '{{ t['owner'] }}' as alert_owner,
        cast({{ t['due_hours'] }} as {{ bigint }}) as alert_due_hours,
        {%- else %}
        cast(null as {{ double }}) as threshold,
        cast(null as {{ string }}) as threshold_grain,
        cast(null as {{ bigint }}) as threshold_window_days,
        cast(null as {{ bigint }}) as threshold_min_sample,
        cast(null as {{ string }}) as threshold_segment_types,
        cast(null as {{ string }}) as alert_type,
        cast(null as {{ string }}) as alert_owner,
        cast(null as {{ bigint }}) as alert_due_hours,
        {%- endif %}
        cast({{ program['review_due_days'][cfg['cadence']] }} as {{ bigint }}) as review_due_days,
        {%- if metric in headline %}
        cast({{ headline.index(metric) + 1 }} as {{ bigint }}) as headline_rank
        {%- else %}
        cast(null as {{ bigint }}) as headline_rank
        {%- endif %}
    {%- endfor %}

),

-- a full join: a metric configured without a definition, or defined but not configured, is a
-- row with nulls that the table checks name
final as (

    select
        cast(coalesce(configured.metric, definitions.metric) as {{ string }}) as metric,
        cast(definitions.definition as {{ string }}) as definition,
        cast(definitions.unit as {{ string }}) as unit,
        cast(definitions.family as {{ string }}) as family,
        cast(configured.direction as {{ string }}) as direction,
        cast(configured.owner_team as {{ string }}) as owner_team,
        cast(configured.cadence as {{ string }}) as cadence,
        cast(configured.review_due_days as {{ bigint }}) as review_due_days,
        cast(configured.threshold as {{ double }}) as threshold,
        cast(configured.threshold_grain as {{ string }}) as threshold_grain,
        cast(configured.threshold_window_days as {{ bigint }}) as threshold_window_days,
        cast(configured.threshold_min_sample as {{ bigint }}) as threshold_min_sample,
        cast(configured.threshold_segment_types as {{ string }}) as threshold_segment_types,
        cast(configured.alert_type as {{ string }}) as alert_type,
        cast(configured.alert_owner as {{ string }}) as alert_owner,
        cast(configured.alert_due_hours as {{ bigint }}) as alert_due_hours,
        cast(configured.headline_rank is not null as {{ dbt.type_boolean() }}) as is_headline,
        cast(configured.headline_rank as {{ bigint }}) as headline_rank
    from configured
    full outer join definitions
        on configured.metric = definitions.metric

)

select * from final
