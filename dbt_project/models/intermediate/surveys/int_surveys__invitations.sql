{#-
    One row per survey invitation, with its survey's metric, touchpoint (trigger) and channel,
    and whether a response to it has arrived (responses linked by invitation_id, in any extract).
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
        responded_invitations.invitation_id is not null as has_response
    from invitations
    left join surveys
        on invitations.survey_id = surveys.survey_id
    left join responded_invitations
        on invitations.invitation_id = responded_invitations.invitation_id

)

select * from final
