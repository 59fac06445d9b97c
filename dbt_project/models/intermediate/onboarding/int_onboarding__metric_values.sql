{#-
    Onboarding metrics of docs/metrics.md in the long format of marts.metric_values:
      milestone_on_time_pct  milestones completed on or before planned_date / milestones due
                             * 100; a milestone is due, and counts, in the period of its
                             planned_date (only milestones due by the as-of day)
      time_to_value_days     median across accounts of the days from the first subscription
                             start to the first completed value milestone, in the period of that
                             milestone's completion
    Segments: account attributes as of the observation's day.
-#}
{%- set segments = var('chw')['segments']['account'] -%}

with

milestones as (

    select * from {{ ref('int_onboarding__milestones') }}

),

time_to_value as (

    select * from {{ ref('int_onboarding__account_time_to_value') }}

),

on_time_observations as (

    select
        'milestone_on_time_pct' as metric,
        milestones.planned_date as obs_date,
        case when milestones.is_on_time then 1 else 0 end as num,
        1 as den{{ metric_account_segment_columns() }}
    from milestones
    {{ metric_account_segments_join('milestones.account_id', 'milestones.planned_date') }}
    where milestones.is_due

),

time_to_value_observations as (

    select
        'time_to_value_days' as metric,
        time_to_value.first_value_date as obs_date,
        time_to_value.time_to_value_days as val{{ metric_account_segment_columns() }}
    from time_to_value
    {{ metric_account_segments_join('time_to_value.account_id', 'time_to_value.first_value_date') }}

),

on_time as (

    {{ metric_values('on_time_observations', 'ratio', segments) }}

),

medians as (

    {# noqa PRS below: sqlfluff's DuckDB grammar lacks expression frame offsets (metric_probe_frame_days) #}
    {{ metric_values('time_to_value_observations', 'median', segments) }}  -- noqa: PRS

),

final as (

    select * from on_time
    union all
    select * from medians

)

select * from final
