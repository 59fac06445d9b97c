{#-
    One row per alert: every rule of docs/metrics.md "Alerts", its owner as of the trigger, its due
    time and its follow-up. See _alerts__models.yml.
-#}
{#- every alert type: vars.chw.alerts and one per metric threshold (vars.chw.program) -#}
{%- set a = alert_rules() -%}

with

signals as (

    select * from {{ ref('int_alerts__signals') }}

),

account_versions as (

    select * from {{ ref('int_health__account_versions') }}

),

owners as (

    select * from {{ ref('stg_crm__owners') }}

),

tasks as (

    select * from {{ ref('stg_crm__tasks') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

-- the account's CSM on the day the alert was raised
with_csm as (

    select
        signals.*,
        account_versions.csm_owner_id,
        owners.team as csm_team
    from signals
    left join account_versions
        on signals.account_id = account_versions.account_id
        and account_versions.effective_from <= cast(signals.triggered_at as date)
        and cast(signals.triggered_at as date) < account_versions.effective_to
    left join owners
        on account_versions.csm_owner_id = owners.owner_id

),

owned as (

    select
        alert_id,
        alert_type,
        account_id,
        signal_type,
        signal_id,
        triggered_at,
        case alert_type
            {%- for alert_type, rule in a.items() %}
            {%- if rule['owner'] == 'csm' %}
            when '{{ alert_type }}' then coalesce(csm_team, 'customer_success')
            {%- elif rule['owner'] == 'survey_owner_team' %}
            when '{{ alert_type }}' then coalesce(survey_owner_team, 'customer_success')
            {%- else %}
            when '{{ alert_type }}' then '{{ rule['owner'] }}'
            {%- endif %}
            {%- endfor %}
        end as owner_team,
        case alert_type
            {%- for alert_type, rule in a.items() if rule['owner'] == 'csm' %}
            when '{{ alert_type }}' then csm_owner_id
            {%- endfor %}
        end as owner_id,
        case alert_type
            {%- for alert_type, rule in a.items() %}
            when '{{ alert_type }}' then {{ dbt.dateadd('hour', rule['due_hours'], 'triggered_at') }}
            {%- endfor %}
        end as due_at
    from with_csm

),

completed_tasks as (

    select
        related_type,
        related_id,
        completed_at
    from tasks
    where completed_at is not null
        and related_id is not null

),

-- a completed CRM task pointing at the alert itself or at its signal
matches as (

    select
        owned.alert_id,
        completed_tasks.completed_at
    from owned
    inner join completed_tasks
        on completed_tasks.related_type = 'alert'
        and completed_tasks.related_id = owned.alert_id
    union all
    select
        owned.alert_id,
        completed_tasks.completed_at
    from owned
    inner join completed_tasks
        on completed_tasks.related_type = owned.signal_type
        and completed_tasks.related_id = owned.signal_id

),

first_follow_up as (

    select
        alert_id,
        min(completed_at) as followed_up_at
    from matches
    group by alert_id

),

final as (

    select
        cast(owned.alert_id as {{ dbt.type_string() }}) as alert_id,
        cast(owned.alert_type as {{ dbt.type_string() }}) as alert_type,
        cast(owned.account_id as {{ dbt.type_string() }}) as account_id,
        cast(owned.signal_type as {{ dbt.type_string() }}) as signal_type,
        cast(owned.signal_id as {{ dbt.type_string() }}) as signal_id,
        cast(owned.triggered_at as {{ dbt.type_timestamp() }}) as triggered_at,
        cast(owned.owner_team as {{ dbt.type_string() }}) as owner_team,
        cast(owned.owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(owned.due_at as {{ dbt.type_timestamp() }}) as due_at,
        cast(first_follow_up.followed_up_at as {{ dbt.type_timestamp() }}) as followed_up_at,
        cast(case
            when first_follow_up.followed_up_at is not null then 'followed_up'
            when owned.due_at < {{ dbt.dateadd('day', 1, 'bounds.latest_extract_date') }} then 'overdue'
            else 'open'
        end as {{ dbt.type_string() }}) as status,
        case
            when first_follow_up.followed_up_at is not null then first_follow_up.followed_up_at <= owned.due_at
            when owned.due_at < {{ dbt.dateadd('day', 1, 'bounds.latest_extract_date') }} then false
        end as within_sla
    from owned
    cross join bounds
    left join first_follow_up
        on owned.alert_id = first_follow_up.alert_id

)

select * from final
