{#-
    One row per survey invitation, with its survey's metric, touchpoint (trigger) and channel,
    and whether a response to it has arrived (responses linked by invitation_id, in any extract).
    trigger_at is the own timestamp of the record that triggered it (survey_timeliness_pct),
    found by the invitation's trigger_ref_id for the touchpoints that have one: ticket_solved ->
    the ticket's solved_at, onboarding_milestone -> the milestone's completed_date (a date: the
    start of that day). Null where the touchpoint has no such record or it is not found (not
    solved, not completed, unknown id).
-#}
with

invitations as (

    select * from {{ ref('stg_survey__invitations') }}

),

surveys as (

    select * from {{ ref('stg_survey__surveys') }}

),

responses as (

    select * from {{ ref('stg_survey__responses') }}

),

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}

),

milestones as (

    select * from {{ ref('stg_crm__milestones') }}

),

responded_invitations as (

    select
        invitation_id,
        min(responded_at) as first_responded_at
    from responses
    where invitation_id is not null
    group by invitation_id

),

final as (

    select
        invitations.invitation_id,
        invitations.survey_id,
        invitations.account_id,
        invitations.contact_id,
        invitations.sent_at,
        {{ metric_day('invitations.sent_at') }} as sent_date,
        surveys.metric as survey_metric,
        surveys.trigger as touchpoint,
        surveys.channel,
        responded_invitations.first_responded_at,
        responded_invitations.invitation_id is not null as has_response,
        invitations.trigger_ref_type,
        invitations.trigger_ref_id,
        case
            when surveys.trigger = 'ticket_solved' then tickets.solved_at
            when surveys.trigger = 'onboarding_milestone' then cast(milestones.completed_date as timestamp)
        end as trigger_at
    from invitations
    left join surveys
        on invitations.survey_id = surveys.survey_id
    left join responded_invitations
        on invitations.invitation_id = responded_invitations.invitation_id
    left join tickets
        on surveys.trigger = 'ticket_solved'
        and invitations.trigger_ref_id = tickets.ticket_id
    left join milestones
        on surveys.trigger = 'onboarding_milestone'
        and invitations.trigger_ref_id = milestones.milestone_id

)

select * from final
