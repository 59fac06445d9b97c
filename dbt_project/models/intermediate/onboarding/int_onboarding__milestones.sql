{#-
    One row per onboarding milestone in the latest CRM snapshot: due when its planned_date is on
    or before the warehouse's as-of day (the calendar's last day), on time when completed on or
    before planned_date, a value milestone when its name is one of
    vars.chw.metrics.value_milestone_names (case-insensitive; an empty list: every milestone).
-#}
{%- set value_names = var('chw')['metrics']['value_milestone_names'] -%}

with

milestones as (

    select * from {{ ref('stg_crm__milestones') }}
    where is_current

),

days as (

    select * from {{ ref('int_calendar__days') }}

),

as_of as (

    select max(date_day) as as_of_date from days

),

final as (

    select
        milestones.milestone_id,
        milestones.account_id,
        milestones.milestone_name,
        milestones.sequence,
        milestones.planned_date,
        milestones.completed_date,
        milestones.owner_id,
        milestones.planned_date <= as_of.as_of_date as is_due,
        milestones.completed_date is not null as is_completed,
        coalesce(milestones.completed_date <= milestones.planned_date, false) as is_on_time,
        {% if value_names | length > 0 -%}
        lower(milestones.milestone_name) in (
            {%- for name in value_names %}'{{ name | lower }}'{{ ', ' if not loop.last }}{% endfor -%}
        )
        {%- else -%}
        true
        {%- endif %} as is_value_milestone
    from milestones
    cross join as_of

)

select * from final
