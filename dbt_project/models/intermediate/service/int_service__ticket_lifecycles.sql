{#-
    One row per ticket with its lifecycle (docs/metrics.md, Service):
      first_responded_at   first_response_at, else the first public agent comment
      frt_seconds/minutes  first response - created_at; frt_target_seconds by channel
                           (vars.chw.frt_target_seconds), is_frt_within_target
      first_solved_at      the ticket's solved_at (the helpdesk keeps one solve time; for a
                           ticket that was never reopened it is the first solve)
      resolution_hours     first_solved_at - created_at
      public_agent_comments_before_solve, is_reopened (reopen_count > 0), is_fcr: solved,
                           exactly one public agent comment at or before the solve, no reopen
-#}
{%- set targets = var('chw')['frt_target_seconds'] -%}

with

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}

),

comments as (

    select * from {{ ref('stg_helpdesk__ticket_comments') }}

),

public_agent_comments as (

    select
        ticket_id,
        created_at
    from comments
    where author_type = 'agent' and is_public

),

first_public_agent_comments as (

    select
        ticket_id,
        min(created_at) as first_public_agent_comment_at
    from public_agent_comments
    group by ticket_id

),

comments_before_solve as (

    select
        tickets.ticket_id,
        count(*) as public_agent_comments_before_solve
    from tickets
    inner join public_agent_comments
        on tickets.ticket_id = public_agent_comments.ticket_id
        and public_agent_comments.created_at <= tickets.solved_at
    group by tickets.ticket_id

),

responded as (

    select
        tickets.*,
        coalesce(tickets.first_response_at, first_public_agent_comments.first_public_agent_comment_at)
            as first_responded_at,
        case
            when tickets.first_response_at is not null then 'ticket'
            when first_public_agent_comments.first_public_agent_comment_at is not null then 'comment'
        end as first_response_source,
        case tickets.channel
            {%- for channel, seconds in targets.items() %}
            when '{{ channel }}' then {{ seconds }}
            {%- endfor %}
        end as frt_target_seconds,
        cast(coalesce(comments_before_solve.public_agent_comments_before_solve, 0) as {{ dbt.type_bigint() }})
            as public_agent_comments_before_solve
    from tickets
    left join first_public_agent_comments
        on tickets.ticket_id = first_public_agent_comments.ticket_id
    left join comments_before_solve
        on tickets.ticket_id = comments_before_solve.ticket_id

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
        {{ metric_day('created_at') }} as created_date,
        first_response_at,
        first_responded_at,
        first_response_source,
        {{ dbt.datediff('created_at', 'first_responded_at', 'second') }} as frt_seconds,
        cast({{ dbt.datediff('created_at', 'first_responded_at', 'second') }} as {{ type_double() }}) / 60
            as frt_minutes,
        frt_target_seconds,
        {{ dbt.datediff('created_at', 'first_responded_at', 'second') }} <= frt_target_seconds
            as is_frt_within_target,
        solved_at as first_solved_at,
        {{ metric_day('solved_at') }} as first_solved_date,
        solved_at is not null as is_solved,
        cast({{ dbt.datediff('created_at', 'solved_at', 'second') }} as {{ type_double() }}) / 3600
            as resolution_hours,
        coalesce(reopen_count, 0) as reopen_count,
        coalesce(reopen_count, 0) > 0 as is_reopened,
        public_agent_comments_before_solve,
        solved_at is not null
        and public_agent_comments_before_solve = 1
        and coalesce(reopen_count, 0) = 0 as is_fcr,
        coalesce(escalated, false) as is_escalated,
        extract_date,
        first_extract_date
    from responded

)

select * from final
