{#-
    One row per account per day it was scored (daily for the last daily_history_days days
    before the latest extract, Mondays before). See _health__models.yml.
-#}
{%- set health = var('chw')['health'] -%}
{%- set components = health['weights'].keys() | list -%}

with

scores as (

    select * from {{ ref('int_health__scores') }}

),

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

account_versions as (

    select * from {{ ref('int_health__account_versions') }}

),

changes as (

    select * from {{ ref('int_health__score_changes') }}

),

published_days as (

    select account_id, day from {{ ref('int_health__account_days') }} where is_published

),

-- a day with an extract that failed a blocking quarantine check (more than quarantine_block_pct
-- of an entity's rows invalid, int_health__blocked_extract_dates) is not scored: the CS team keeps the previous day's score
-- rather than one computed from a suspect extract; the days before and after are scored as usual
blocked_days as (

    select distinct extract_date as day from {{ ref('int_health__blocked_extract_dates') }}

),

-- next renewal: the earliest end of a subscription known and covering the day
renewals as (

    select
        scores.account_id,
        scores.as_of_date,
        min(subscriptions.end_date) as renewal_date
    from scores
    inner join subscriptions
        on scores.account_id = subscriptions.account_id
        and subscriptions.first_extract_date <= scores.as_of_date
        and subscriptions.start_date <= scores.as_of_date
        and subscriptions.end_date > scores.as_of_date
    group by scores.account_id, scores.as_of_date

),

joined as (

    select
        scores.*,
        changes.score_30d_ago,
        changes.score_30d_ago_date,
        changes.change_30d_pct,
        changes.is_at_risk,
        renewals.renewal_date,
        account_versions.csm_owner_id,
        account_versions.tier
    from scores
    inner join published_days
        on scores.account_id = published_days.account_id
        and scores.as_of_date = published_days.day
    left join changes
        on scores.account_id = changes.account_id
        and scores.as_of_date = changes.as_of_date
    left join renewals
        on scores.account_id = renewals.account_id
        and scores.as_of_date = renewals.as_of_date
    left join account_versions
        on scores.account_id = account_versions.account_id
        and account_versions.effective_from <= scores.as_of_date
        and scores.as_of_date < account_versions.effective_to
    left join blocked_days
        on scores.as_of_date = blocked_days.day
    where blocked_days.day is null

),

final as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(as_of_date as date) as as_of_date,
        cast(health_score as {{ type_double() }}) as health_score,
        cast(health_band as {{ dbt.type_string() }}) as health_band,
        {%- for c in components %}
        cast({{ c }}_score as {{ type_double() }}) as {{ c }}_score,
        {%- endfor %}
        cast(score_30d_ago as {{ type_double() }}) as score_30d_ago,
        cast(change_30d_pct as {{ type_double() }}) as change_30d_pct,
        coalesce(is_at_risk, false) as is_at_risk,
        cast(renewal_date as date) as renewal_date,
        cast({{ dbt.datediff('as_of_date', 'renewal_date', 'day') }} as integer) as days_to_renewal,
        cast(csm_owner_id as {{ dbt.type_string() }}) as csm_owner_id,
        cast(tier as {{ dbt.type_string() }}) as tier,
        cast(score_30d_ago_date as date) as score_30d_ago_date,
        cast(weights_source as {{ dbt.type_string() }}) as weights_source,
        cast(coverage as integer) as coverage,
        {%- for c in components %}
        cast({{ c }}_contribution as {{ type_double() }}) as {{ c }}_contribution,
        {%- endfor %}
        cast(churn_probability as {{ type_double() }}) as churn_probability,
        cast(expansion_propensity as {{ type_double() }}) as expansion_propensity,
        cast(is_expansion_high as boolean) as is_expansion_high,
        cast(model_kind as {{ dbt.type_string() }}) as model_kind
    from joined

)

select * from final
