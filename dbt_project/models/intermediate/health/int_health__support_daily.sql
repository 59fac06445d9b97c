{#-
    One row per account per score date: the support load known that day. Tickets count once
    known (first_extract_date <= d) and created on or before d.
    - tickets_in_window: tickets created in the last window_days days, or older and still unresolved.
    - unresolved_tickets: created <= d and not solved by d.
    - escalated_tickets: escalated tickets created in the last window_days days.
    - breached_first_responses: tickets created in the last window_days days whose first
      response came later than the channel's target (vars.chw.frt_target_seconds), or has not
      come by d although the target has passed.
    has_support_source: the helpdesk had delivered tickets by d (else the component is missing).
-#}
{%- set w = var('chw')['health']['components']['support']['window_days'] -%}
{%- set targets = var('chw')['frt_target_seconds'] -%}

with

account_days as (

    select * from {{ ref('int_health__account_days') }}

),

tickets as (

    select * from {{ ref('stg_helpdesk__tickets') }}

),

score_dates as (

    select account_id, day from account_days where is_score_date

),

known_tickets as (

    select
        account_id,
        created_at,
        cast(created_at as date) as created_date,
        case
            when first_extract_date > cast(created_at as date) then first_extract_date
            else cast(created_at as date)
        end as known_date,
        cast(solved_at as date) as solved_date,
        coalesce(escalated, false) as escalated,
        first_response_at,
        case channel
            {%- for channel, seconds in targets.items() %}
            when '{{ channel }}' then {{ seconds }}
            {%- endfor %}
        end as target_seconds
    from tickets
    where account_id is not null
        and created_at is not null

),

helpdesk_known_from as (

    select min(known_date) as known_from from known_tickets

),

per_day as (

    select
        score_dates.account_id,
        score_dates.day,
        count(*) as tickets_in_window,
        sum(case
            when known_tickets.solved_date is null or known_tickets.solved_date > score_dates.day then 1 else 0
        end) as unresolved_tickets,
        sum(case
            when known_tickets.escalated
                and known_tickets.created_date > {{ dbt.dateadd('day', -w, 'score_dates.day') }} then 1 else 0
        end) as escalated_tickets,
        sum(case
            when known_tickets.created_date > {{ dbt.dateadd('day', -w, 'score_dates.day') }}
                and known_tickets.target_seconds is not null
                and (
                    (known_tickets.first_response_at is not null
                        and cast(known_tickets.first_response_at as date) <= score_dates.day
                        and {{ dbt.datediff('known_tickets.created_at', 'known_tickets.first_response_at', 'second') }}
                            > known_tickets.target_seconds)
                    or ((known_tickets.first_response_at is null
                        or cast(known_tickets.first_response_at as date) > score_dates.day)
                        and {{ dbt.datediff('known_tickets.created_at', dbt.dateadd('day', 1, 'score_dates.day'), 'second') }}
                            > known_tickets.target_seconds)
                )
                then 1 else 0
        end) as breached_first_responses
    from score_dates
    inner join known_tickets
        on score_dates.account_id = known_tickets.account_id
        and known_tickets.known_date <= score_dates.day
        -- a ticket solved before the window and created before it weighs on nothing
        and (
            known_tickets.created_date > {{ dbt.dateadd('day', -w, 'score_dates.day') }}
            or known_tickets.solved_date is null
            or known_tickets.solved_date > score_dates.day
        )
    group by score_dates.account_id, score_dates.day

),

final as (

    select
        score_dates.account_id,
        score_dates.day as as_of_date,
        coalesce(score_dates.day >= helpdesk_known_from.known_from, false) as has_support_source,
        cast(coalesce(per_day.tickets_in_window, 0) as bigint) as tickets_in_window,
        cast(coalesce(per_day.unresolved_tickets, 0) as bigint) as unresolved_tickets,
        cast(coalesce(per_day.escalated_tickets, 0) as bigint) as escalated_tickets,
        cast(coalesce(per_day.breached_first_responses, 0) as bigint) as breached_first_responses
    from score_dates
    cross join helpdesk_known_from
    left join per_day
        on score_dates.account_id = per_day.account_id
        and score_dates.day = per_day.day

)

select * from final
