{#-
    Service metrics of METRICS.md in the long format of marts.metric_values: ticket_count,
    escalation_rate_pct, frt_median_minutes, frt_within_target_pct (tickets in the period of
    their created_at that have a first response), resolution_median_hours and fcr_pct (solved
    tickets, in the period of their first solve), call_answer_within_20s_pct (calls, by
    offered_at) and unresolved_tickets (tickets open at the period's end: created on or before
    it and not solved by then; grains day, week, month, quarter).
    Segments: account attributes as of the observation's day, channel and category
    (calls: account attributes only).
-#}
{%- set cfg = var('chw') -%}
{%- set account_segments = cfg['segments']['account'] -%}
{%- set segments = account_segments + cfg['segments']['ticket'] -%}
{%- set stock_grains = cfg['metrics']['grains'] | reject('equalto', 'rolling') | list -%}

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

),

tickets_by_solved as (

    select
        tickets.*{{ metric_account_segment_columns() }}
    from tickets
    {{ metric_account_segments_join('tickets.account_id', 'tickets.first_solved_date') }}
    where tickets.is_solved

),

calls_segmented as (

    select
        calls.*{{ metric_account_segment_columns() }}
    from calls
    {{ metric_account_segments_join('calls.account_id', 'calls.offered_date') }}

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

    {{ metric_values('median_observations', 'median', segments) }}

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
