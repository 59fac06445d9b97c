{#-
    One row per call offered: answer time (answered_at - offered_at) and whether an agent
    answered within vars.chw.call_answer_target_seconds (abandoned or unanswered calls: not).
-#}
{%- set target = var('chw')['call_answer_target_seconds'] -%}

with

calls as (

    select * from {{ ref('stg_helpdesk__calls') }}

),

final as (

    select
        call_id,
        account_id,
        queue,
        offered_at,
        {{ metric_day('offered_at') }} as offered_date,
        answered_at,
        ended_at,
        coalesce(abandoned, false) as is_abandoned,
        {{ dbt.datediff('offered_at', 'answered_at', 'second') }} as answer_seconds,
        coalesce(
            answered_at is not null
            and not coalesce(abandoned, false)
            and {{ dbt.datediff('offered_at', 'answered_at', 'second') }} <= {{ target }},
            false
        ) as is_answered_within_target
    from calls

)

select * from final
