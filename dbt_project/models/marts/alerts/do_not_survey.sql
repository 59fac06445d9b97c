{#-
    One row per contact and reason not to survey them now (as of the latest extract date):
    survey_fatigue (invited within vars.chw.survey_fatigue_days) or open_escalation (their
    account has an escalated ticket that is not solved or closed). No personal data.
-#}
{%- set fatigue_days = var('chw')['survey_fatigue_days'] -%}

with

invitations as (

    select * from {{ ref('stg_survey__invitations') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

fatigued as (

    select
        invitations.contact_id,
        max(invitations.account_id) as account_id,
        'survey_fatigue' as reason,
        max(invitations.sent_at) as since
    from invitations
    cross join bounds
    where invitations.contact_id is not null
        and cast(invitations.sent_at as date) > {{ dbt.dateadd('day', -fatigue_days, 'bounds.latest_extract_date') }}
        and cast(invitations.sent_at as date) <= bounds.latest_extract_date
    group by invitations.contact_id

),

escalations as (

    select
        account_id,
        min(created_at) as since
    from tickets
    where coalesce(escalated, false)
        and coalesce(status, 'open') not in ('solved', 'closed')
        and account_id is not null
    group by account_id

),

escalated_contacts as (

    select
        contacts.contact_id,
        contacts.account_id,
        'open_escalation' as reason,
        escalations.since
    from contacts
    inner join escalations
        on contacts.account_id = escalations.account_id
    where contacts.is_current

),

unioned as (

    select * from fatigued
    union all
    select * from escalated_contacts

),

final as (

    select
        cast(unioned.contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(unioned.account_id as {{ dbt.type_string() }}) as account_id,
        cast(unioned.reason as {{ dbt.type_string() }}) as reason,
        cast(unioned.since as {{ dbt.type_timestamp() }}) as since,
        cast(bounds.latest_extract_date as date) as as_of_date
    from unioned
    cross join bounds

)

select * from final
