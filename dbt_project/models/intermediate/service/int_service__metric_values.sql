{#-
    Service metrics of docs/metrics.md in the long format of marts.metric_values: ticket_count,
    escalation_rate_pct, frt_median_minutes, frt_within_target_pct (tickets in the period of
    their created_at that have a first response), resolution_median_hours and fcr_pct (solved
    tickets, in the period of their first solve), call_answer_within_20s_pct (calls, by
    offered_at) and unresolved_tickets (tickets open at the period's end: created on or before
    it and not solved by then; grains day, week, month, quarter).
    Segments: account attributes as of the observation's day, channel and category
    (calls: account attributes only).

    Incremental by period (macros/incremental/period_increment.sql): tickets and calls are
    snapshotted per build, so a new, re-sent or newly solved ticket (or a comment that changes
    its first response or FCR) makes its days dirty from its created day; a run recomputes the
    periods from the first dirty day and reads the tickets and calls those periods need
    (unresolved_tickets reads every ticket, for the recomputed period ends only).
-#}
{%- set cfg = var('chw') -%}
{%- set account_segments = cfg['segments']['account'] -%}
{%- set segments = account_segments + cfg['segments']['ticket'] -%}
{%- set stock_grains = cfg['metrics']['grains'] | reject('equalto', 'rolling') | list -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['grain', 'period_start']),
    period_increment={
        'intervals': period_increment_intervals(['segments']) + [
            {'name': 'tickets', 'model': 'int_service__ticket_lifecycles', 'key': ['ticket_id'],
             'from': 'created_date', 'to': 'first_solved_date',
             'attrs': ['account_id', 'channel', 'category', 'is_escalated', 'first_responded_at',
                       'frt_target_seconds', 'is_frt_within_target', 'frt_minutes', 'is_solved',
                       'resolution_hours', 'is_fcr']},
            {'name': 'calls', 'model': 'int_service__calls', 'key': ['call_id'],
             'from': 'offered_date', 'to': 'null', 'attrs': ['account_id', 'is_answered_within_target']},
        ],
        'grains': cfg['metrics']['grains'],
        'reach_days': cfg['rolling_windows'] | max - 1,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}

with

tickets as (

    select * from {{ ref('int_service__ticket_lifecycles') }}

),

calls as (

    select * from {{ ref('int_service__calls') }}

),

periods as (

    select * from {{ ref('int_calendar__periods') }}

),

tickets_by_created as (

    select
        tickets.*{{ metric_account_segment_columns() }}
    from tickets
    {{ metric_account_segments_join('tickets.account_id', 'tickets.created_date') }}
    {%- if read_from is not none %}
    where tickets.created_date >= {{ read_from }}
    {%- endif %}

),

tickets_by_solved as (

    select
        tickets.*{{ metric_account_segment_columns() }}
    from tickets
    {{ metric_account_segments_join('tickets.account_id', 'tickets.first_solved_date') }}
    where tickets.is_solved
    {%- if read_from is not none %}
        and tickets.first_solved_date >= {{ read_from }}
    {%- endif %}

),

calls_segmented as (

    select
        calls.*{{ metric_account_segment_columns() }}
    from calls
    {{ metric_account_segments_join('calls.account_id', 'calls.offered_date') }}
    {%- if read_from is not none %}
    where calls.offered_date >= {{ read_from }}
    {%- endif %}

),

count_observations as (

    select
        {{ metric_column_list(segments) }}
        'ticket_count' as metric,
        created_date as obs_date
    from tickets_by_created

),

ticket_share_observations as (

    select
        'escalation_rate_pct' as metric,
        created_date as obs_date,
        {{ metric_column_list(segments) }}
        case when is_escalated then 1 else 0 end as num,
        1 as den
    from tickets_by_created

    union all

    select
        'frt_within_target_pct' as metric,
        created_date as obs_date,
        {{ metric_column_list(segments) }}
        case when is_frt_within_target then 1 else 0 end as num,
        1 as den
    from tickets_by_created
    where first_responded_at is not null and frt_target_seconds is not null

    union all

    select
        'fcr_pct' as metric,
        first_solved_date as obs_date,
        {{ metric_column_list(segments) }}
        case when is_fcr then 1 else 0 end as num,
        1 as den
    from tickets_by_solved

),

call_share_observations as (

    select
        'call_answer_within_20s_pct' as metric,
        offered_date as obs_date,
        {{ metric_column_list(account_segments) }}
        case when is_answered_within_target then 1 else 0 end as num,
        1 as den
    from calls_segmented

),

median_observations as (

    select
        'frt_median_minutes' as metric,
        created_date as obs_date,
        {{ metric_column_list(segments) }}
        frt_minutes as val
    from tickets_by_created
    where first_responded_at is not null

    union all

    select
        'resolution_median_hours' as metric,
        first_solved_date as obs_date,
        {{ metric_column_list(segments) }}
        resolution_hours as val
    from tickets_by_solved

),

{%- for grain in stock_grains %}

-- tickets open at the end of each {{ grain }}: one observation per ticket and period, dated at
-- the period's start so that the period assignment of metric_values() keeps it in its period
open_at_{{ grain }}_end as (

    select
        'unresolved_tickets' as metric,
        periods.period_start as obs_date,
        tickets.ticket_id,
        tickets.channel,
        tickets.category,
        tickets.account_id,
        periods.period_end
    from periods
    inner join tickets
        on tickets.created_date <= periods.period_end
        and (tickets.first_solved_date is null or tickets.first_solved_date > periods.period_end)
    where periods.grain = '{{ grain }}'
        and {{ period_increment_filter(inc, 'periods.grain', 'periods.period_start') }}

),

open_at_{{ grain }}_end_segmented as (

    select
        open_at_{{ grain }}_end.*{{ metric_account_segment_columns() }}
    from open_at_{{ grain }}_end
    {{ metric_account_segments_join('open_at_' ~ grain ~ '_end.account_id', 'open_at_' ~ grain ~ '_end.period_end') }}

),

unresolved_{{ grain }} as (

    {{ metric_values('open_at_' ~ grain ~ '_end_segmented', 'count', segments, grains=[grain]) }}

),
{%- endfor %}

ticket_counts as (

    {{ metric_values('count_observations', 'count', segments) }}

),

ticket_shares as (

    {{ metric_values('ticket_share_observations', 'ratio', segments) }}

),

call_shares as (

    {{ metric_values('call_share_observations', 'ratio', account_segments) }}

),

medians as (

    {# noqa PRS below: sqlfluff's DuckDB grammar lacks expression frame offsets (metric_probe_frame_days) #}
    {{ metric_values('median_observations', 'median', segments) }}  -- noqa: PRS

),

final as (

    select * from ticket_counts
    union all
    select * from ticket_shares
    union all
    select * from call_shares
    union all
    select * from medians
    {%- for grain in stock_grains %}
    union all
    select * from unresolved_{{ grain }}
    {%- endfor %}

)

select * from final
where {{ period_increment_filter(inc) }}
