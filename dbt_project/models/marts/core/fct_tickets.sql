{#- One row per ticket, with first response, resolution and first-contact-resolution fields. -#}
with

tickets as (

    select * from {{ ref('int_service__ticket_lifecycles') }}

),

final as (

    select
        ticket_id,
        account_id,
        requester_contact_id,
        channel,
        category,
        priority,
        status,
        assignee_id,
        created_at,
        created_date,
        first_responded_at,
        first_response_source,
        cast(frt_seconds as {{ dbt.type_bigint() }}) as frt_seconds,
        cast(frt_minutes as {{ type_double() }}) as frt_minutes,
        cast(frt_target_seconds as {{ dbt.type_bigint() }}) as frt_target_seconds,
        is_frt_within_target,
        first_solved_at,
        first_solved_date,
        is_solved,
        cast(resolution_hours as {{ type_double() }}) as resolution_hours,
        cast(reopen_count as {{ dbt.type_bigint() }}) as reopen_count,
        is_reopened,
        cast(public_agent_comments_before_solve as {{ dbt.type_bigint() }}) as public_agent_comments_before_solve,
        is_fcr,
        is_escalated
    from tickets

)

select * from final
