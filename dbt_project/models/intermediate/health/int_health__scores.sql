{#-
    One row per account per score date: the health score from the component scores and the
    weights of source models.health_weights (fitted or default).

    score = sum(weight_c x score_c) / sum(weight_c), where the sums run over the components
    present (missing_policy renormalize) or over all components with a missing one counted as 0
    (missing_policy zero). contribution_c = weight_c x score_c / that denominator, so the
    contributions add up to the score. Band: >= bands.green green, >= bands.yellow yellow, else red.
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
        round(case when coverage > 0 and weight_denominator > 0 then
            {%- for c in components %}
            coalesce({{ c }}_contribution, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        end, 2) as raw_score
    from contributions

),

final as (

    select
        account_id,
        as_of_date,
        cast(raw_score as {{ type_double() }}) as health_score,
        case
            when raw_score is null then null
            when raw_score >= {{ health['bands']['green'] }} then 'green'
            when raw_score >= {{ health['bands']['yellow'] }} then 'yellow'
            else 'red'
        end as health_band,
        {%- for c in components %}
        cast({{ c }}_score as {{ type_double() }}) as {{ c }}_score,
        {%- endfor %}
        {%- for c in components %}
        cast(round({{ c }}_contribution, 4) as {{ type_double() }}) as {{ c }}_contribution,
        {%- endfor %}
        cast(weights_source as {{ dbt.type_string() }}) as weights_source,
        cast(coverage as integer) as coverage
    from scored

)

select * from final
