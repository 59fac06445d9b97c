{#-
    One row per health_drop_15 alert per health component: how the component's score and its
    contribution to the health score moved between the earlier score and the day the alert was
    raised, ranked by the contribution lost (rank 1 = the main driver of the drop). Where the
    churn model is in force, every row of the alert also carries the account's churn
    probability that day and the churn model's top three drivers (marts.account_risk_drivers).
-#}
{%- set components = var('chw')['health']['weights'].keys() | list -%}

with

alerts as (

    select * from {{ ref('alerts') }}

),

account_health as (

    select * from {{ ref('account_health') }}

),

risk_drivers as (

    select * from {{ ref('account_risk_drivers') }}

),

-- the churn model's top drivers of the day, as one line: "escalations (+0.84), usage_trend (+0.41), ..."
driver_lines as (

    select
        account_id,
        as_of_date,
        {{ dbt.listagg(
            dbt.concat(["feature", "' ('", "case when contribution >= 0 then '+' else '' end",
                        dbt.cast("round(contribution, 2)", dbt.type_string()), "')'"]),
            "', '",
            "order by driver_rank") }} as top_risk_drivers
    from risk_drivers
    group by account_id, as_of_date

),

pairs as (

    select
        alerts.alert_id,
        alerts.account_id,
        alerts.triggered_at,
        now_.as_of_date,
        now_.score_30d_ago_date as compared_with_date,
        now_.health_score,
        now_.score_30d_ago,
        now_.churn_probability,
        driver_lines.top_risk_drivers
        {%- for c in components %},
        now_.{{ c }}_score as {{ c }}_score_after,
        before_.{{ c }}_score as {{ c }}_score_before,
        now_.{{ c }}_contribution as {{ c }}_contribution_after,
        before_.{{ c }}_contribution as {{ c }}_contribution_before{% endfor %}
    from alerts
    inner join account_health as now_
        on alerts.account_id = now_.account_id
        and cast(alerts.triggered_at as date) = now_.as_of_date
    inner join account_health as before_
        on now_.account_id = before_.account_id
        and now_.score_30d_ago_date = before_.as_of_date
    left join driver_lines
        on now_.account_id = driver_lines.account_id
        and now_.as_of_date = driver_lines.as_of_date
    where alerts.alert_type = 'health_drop_15'

),

long as (

    {%- for c in components %}
    select
        alert_id,
        account_id,
        triggered_at,
        as_of_date,
        compared_with_date,
        health_score,
        score_30d_ago,
        churn_probability,
        top_risk_drivers,
        '{{ c }}' as component,
        {{ c }}_score_before as score_before,
        {{ c }}_score_after as score_after,
        {{ c }}_contribution_before as contribution_before,
        {{ c }}_contribution_after as contribution_after
    from pairs
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        cast(alert_id as {{ dbt.type_string() }}) as alert_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(triggered_at as {{ dbt.type_timestamp() }}) as triggered_at,
        cast(compared_with_date as date) as compared_with_date,
        cast(health_score as {{ type_double() }}) as health_score,
        cast(score_30d_ago as {{ type_double() }}) as score_30d_ago,
        cast(component as {{ dbt.type_string() }}) as component,
        cast(score_before as {{ type_double() }}) as score_before,
        cast(score_after as {{ type_double() }}) as score_after,
        cast(score_after - score_before as {{ type_double() }}) as score_change,
        cast(contribution_before as {{ type_double() }}) as contribution_before,
        cast(contribution_after as {{ type_double() }}) as contribution_after,
        cast(coalesce(contribution_after, 0) - coalesce(contribution_before, 0) as {{ type_double() }})
            as contribution_change,
        cast(row_number() over (
            partition by alert_id
            order by coalesce(contribution_after, 0) - coalesce(contribution_before, 0), component
        ) as integer) as drop_rank,
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(top_risk_drivers as {{ dbt.type_string() }}) as top_risk_drivers
    from long

)

select * from final
