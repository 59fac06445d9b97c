{#-
    marts.metric_values: every metric of docs/metrics.md, one long table (docs/contract.md, Marts out).
    The union of the family models, each already in this exact column list.
-#}
{#- Health and closed-loop metrics read the health score, which reads the fitted weights: this
    mart therefore builds after the Python model assets (dbt_scored in the Dagster graph). -#}
{%- set families = [
    'int_survey__metric_values',
    'int_reviews__metric_values',
    'int_service__metric_values',
    'int_revenue__metric_values',
    'int_usage__metric_values',
    'int_onboarding__metric_values',
    'int_health__metric_values',
    'int_alerts__closed_loop_metric_values',
] -%}
{%- set columns = [
    'metric', 'grain', 'period_start', 'window_days', 'segment_type', 'segment_value', 'value',
    'numerator', 'denominator', 'sample_size', 'ci_low', 'ci_high', 'is_low_sample',
] -%}

with

{% for family in families %}
{{ family }} as (

    select * from {{ ref(family) }}

),

{% endfor -%}

unioned as (

    {%- for family in families %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select {{ columns | join(', ') }}
    from {{ family }}
    {%- endfor %}

),

final as (

    select
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(grain as {{ dbt.type_string() }}) as grain,
        cast(period_start as date) as period_start,
        cast(window_days as {{ dbt.type_int() }}) as window_days,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(value as {{ type_double() }}) as value,
        cast(numerator as {{ type_double() }}) as numerator,
        cast(denominator as {{ type_double() }}) as denominator,
        cast(sample_size as {{ dbt.type_bigint() }}) as sample_size,
        cast(ci_low as {{ type_double() }}) as ci_low,
        cast(ci_high as {{ type_double() }}) as ci_high,
        cast(is_low_sample as {{ dbt.type_boolean() }}) as is_low_sample
    from unioned

)

select * from final
