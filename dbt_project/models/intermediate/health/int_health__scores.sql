{#-
    One row per account per score date: the health score from the component scores and the
    weights of source models.health_weights (fitted or default).

    score = sum(weight_c x score_c) / sum(weight_c), where the sums run over the components
    present (missing_policy renormalize) or over all components with a missing one counted as 0
    (missing_policy zero). contribution_c = weight_c x score_c / that denominator, so the
    contributions add up to the score. Band: >= bands.green green, >= bands.yellow yellow, else red;
    but where the churn model is in force (source models.health_risk has a probability for the
    day), the band is the model's, from the calibrated churn probability (red >= model.bands.red x
    the base churn rate, yellow >= model.bands.yellow x), and weights_source says 'model'.
-#}
{%- set health = var('chw')['health'] -%}
{%- set components = health['weights'].keys() | list -%}
{%- set renormalize = health['missing_policy'] == 'renormalize' -%}

with

components as (

    select * from {{ ref('int_health__components') }}

),

weights as (

    select * from {{ source('models', 'health_weights') }}

),

risk as (

    select * from {{ source('models', 'health_risk') }}

),

weight_row as (

    select
        {%- for c in components %}
        coalesce(max(case when component = '{{ c }}' then weight end), 0) as w_{{ c }},
        {%- endfor %}
        max(source) as weights_source
    from weights

),

sums as (

    select
        components.account_id,
        components.as_of_date,
        {%- for c in components %}
        components.{{ c }}_score,
        weight_row.w_{{ c }},
        {%- endfor %}
        weight_row.weights_source,
        {%- for c in components %}
        case when components.{{ c }}_score is null then 0 else 1 end{{ ' +' if not loop.last }}
        {%- endfor %} as coverage,
        {%- for c in components %}
        {%- if renormalize %}
        case when components.{{ c }}_score is null then 0 else weight_row.w_{{ c }} end{{ ' +' if not loop.last }}
        {%- else %}
        weight_row.w_{{ c }}{{ ' +' if not loop.last }}
        {%- endif %}
        {%- endfor %} as weight_denominator
    from components
    cross join weight_row

),

contributions as (

    select
        account_id,
        as_of_date,
        {%- for c in components %}
        {{ c }}_score,
        {%- endfor %}
        weights_source,
        coverage,
        weight_denominator,
        {%- for c in components %}
        case
            when weight_denominator > 0
                then coalesce(w_{{ c }} * {{ c }}_score, {{ 'null' if renormalize else '0' }}) / weight_denominator
        end as {{ c }}_contribution{{ ',' if not loop.last }}
        {%- endfor %}
    from sums

),

scored as (

    select
        *,
        -- rounded before banding, so the band always agrees with the published score
        round(cast(case when coverage > 0 and weight_denominator > 0 then
            {%- for c in components %}
            coalesce({{ c }}_contribution, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        end as {{ rounding_type() }}), 2) as raw_score
    from contributions

),

with_risk as (

    select
        scored.*,
        risk.churn_probability,
        risk.churn_band,
        risk.expansion_propensity,
        risk.is_expansion_high,
        risk.model_kind
    from scored
    left join risk
        on scored.account_id = risk.account_id
        and scored.as_of_date = cast(risk.as_of_date as date)

),

final as (

    select
        account_id,
        as_of_date,
        cast(raw_score as {{ type_double() }}) as health_score,
        case
            when raw_score is null then null
            when churn_band is not null then churn_band
            when raw_score >= {{ health['bands']['green'] }} then 'green'
            when raw_score >= {{ health['bands']['yellow'] }} then 'yellow'
            else 'red'
        end as health_band,
        {%- for c in components %}
        cast({{ c }}_score as {{ type_double() }}) as {{ c }}_score,
        {%- endfor %}
        {%- for c in components %}
        cast(round(cast({{ c }}_contribution as {{ rounding_type() }}), 4) as {{ type_double() }}) as {{ c }}_contribution,
        {%- endfor %}
        cast(case when churn_probability is not null then 'model' else weights_source end as {{ dbt.type_string() }})
            as weights_source,
        cast(coverage as integer) as coverage,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(expansion_propensity as {{ type_double() }}) as expansion_propensity,
        coalesce(is_expansion_high, false) as is_expansion_high,
        cast(model_kind as {{ dbt.type_string() }}) as model_kind
    from with_risk

)

select * from final
