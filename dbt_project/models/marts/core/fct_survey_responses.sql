{#-
    One row per survey response (on its survey's declared scale) with normalized scores and
    classes, and the account's behaviour in the vars.chw.metrics.behaviour_window_days days
    before the answer: product events and active users on the days before the response day,
    and tickets open at any moment of that window.

    Incremental by response day (macros/incremental/period_increment.sql): responses and tickets
    are snapshotted per build, user-days and the days re-sent events left are watermarked; a run
    replaces the responses from the first day a new, re-sent or changed response, a changed
    ticket or a late user-day reaches.
-#}
{%- set window = var('chw')['metrics']['behaviour_window_days'] -%}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partition_by=partition_columns(['response_date']),
    on_schema_change='append_new_columns',
    period_increment={
        'watermarked': [
            {'model': 'int_usage__user_days', 'day': 'activity_date', 'extract': 'last_extract_date'},
            {'model': 'stg_product__event_day_moves', 'day': 'event_date', 'extract': 'extract_date'},
        ],
        'intervals': [
            {'name': 'responses', 'model': 'int_survey__responses_normalized', 'key': ['response_id'],
             'from': 'response_date', 'to': 'null',
             'attrs': ['invitation_id', 'survey_id', 'account_id', 'contact_id', 'score', 'responded_at',
                       'first_extract_date', 'survey_metric', 'scale_min', 'scale_max', 'higher_is_better',
                       'touchpoint', 'channel', 'owner_team', 'is_satisfied', 'csat_score_norm', 'nps_class',
                       'nps_score', 'ces_effort']},
            {'name': 'tickets', 'model': 'int_service__ticket_lifecycles', 'key': ['ticket_id'],
             'from': 'created_date', 'to': 'first_solved_date', 'attrs': ['account_id', 'created_at', 'first_solved_at']},
        ],
        'grains': ['day'],
        'day_column': 'response_date',
        'reach_days': window,
    },
    pre_hook="{{ period_increment_delete() }}",
    post_hook="{{ period_increment_save() }}"
) }}
{%- set inc = period_increment() -%}
{%- set read_from = period_increment_read_from(inc) -%}
-- depends_on: {{ ref('int_calendar__days') }}, {{ ref('stg_product__event_day_moves') }}

with

responses as (

    select * from {{ ref('int_survey__responses_normalized') }}
    where {{ period_increment_filter(inc) }}

),

user_days as (

    select * from {{ ref('int_usage__user_days') }}
    {%- if read_from is not none %}
    where activity_date >= {{ read_from }}
    {%- endif %}

),

tickets as (

    select * from {{ ref('int_service__ticket_lifecycles') }}

),

-- each response's window as its `window` days (response day - window .. response day - 1), so
-- the user-days are found by an equality join on (account, day): a range join on the account
-- alone paired every response with every user-day of its account (~1 bn pairs at preset M)
response_window_days as (

    select
        responses.response_id,
        responses.account_id,
        {{ metric_add_days('-offsets.days_before', 'responses.response_date') }} as activity_date
    from responses
    cross join (
        values {% for days_before in range(1, window + 1) %}({{ days_before }}){{ ", " if not loop.last }}{% endfor %}
    ) as offsets (days_before)

),

usage_before as (

    select
        response_window_days.response_id,
        sum(user_days.event_count) as events_before,
        count(distinct user_days.user_id) as active_users_before
    from response_window_days
    inner join user_days
        on response_window_days.account_id = user_days.account_id
        and response_window_days.activity_date = user_days.activity_date
    group by response_window_days.response_id

),

tickets_before as (

    select
        responses.response_id,
        count(*) as open_tickets_before
    from responses
    inner join tickets
        on responses.account_id = tickets.account_id
        and tickets.created_at < responses.responded_at
        and (
            tickets.first_solved_at is null
            or tickets.first_solved_at >= {{ dbt.dateadd('day', -window, 'responses.responded_at') }}
        )
    group by responses.response_id

),

final as (

    select
        responses.response_id,
        responses.survey_id,
        responses.invitation_id,
        responses.account_id,
        responses.contact_id,
        responses.responded_at,
        responses.response_date,
        responses.first_extract_date,
        responses.survey_metric,
        responses.touchpoint,
        responses.channel,
        responses.owner_team,
        cast(responses.score as {{ type_double() }}) as score,
        responses.scale_min,
        responses.scale_max,
        responses.higher_is_better,
        responses.is_satisfied,
        cast(responses.csat_score_norm as {{ type_double() }}) as csat_score_norm,
        responses.nps_class,
        cast(responses.nps_score * 100 as {{ type_double() }}) as nps_points,
        cast(responses.ces_effort as {{ type_double() }}) as ces_effort,
        cast(coalesce(usage_before.events_before, 0) as {{ dbt.type_bigint() }}) as events_7d,
        cast(coalesce(usage_before.active_users_before, 0) as {{ dbt.type_bigint() }}) as active_users_7d,
        cast(coalesce(tickets_before.open_tickets_before, 0) as {{ dbt.type_bigint() }}) as open_tickets_7d
    from responses
    left join usage_before
        on responses.response_id = usage_before.response_id
    left join tickets_before
        on responses.response_id = tickets_before.response_id

)

select * from final
