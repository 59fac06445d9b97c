{#-
    Survey metrics of docs/metrics.md in the long format of marts.metric_values: csat_pct,
    csat_avg_norm, nps, nps_promoter_pct, nps_detractor_pct, ces_avg, survey_response_rate_pct,
    surveys_per_contact_90d, survey_timeliness_pct, acsi_index and its companion
    acsi_incomplete_respondents. A response counts in the period of its responded_at (however
    late it arrived), an invitation in the period of its sent_at, an ACSI respondent in that of
    its first answer. Segments: account attributes as of the observation's day, touchpoint and
    channel (vars.chw.segments).
-#}
{%- set cfg = var('chw') -%}
{%- set segments = cfg['segments']['account'] + cfg['segments']['survey'] -%}
{%- set fatigue_days = cfg['metrics']['surveys_per_contact_window_days'] -%}
{%- set timeliness_targets = cfg['metrics']['survey_timeliness_target_minutes'] -%}

with

responses as (

    select * from {{ ref('int_survey__responses_normalized') }}

),

invitations as (

    select * from {{ ref('int_survey__invitations') }}

),

responses_segmented as (

    select
        responses.*{{ metric_account_segment_columns() }}
    from responses
    {{ metric_account_segments_join('responses.account_id', 'responses.response_date') }}

),

acsi_respondents as (

    select * from {{ ref('int_survey__acsi_respondents') }}

),

invitations_segmented as (

    select
        invitations.*{{ metric_account_segment_columns() }}
    from invitations
    {{ metric_account_segments_join('invitations.account_id', 'invitations.sent_date') }}

),

acsi_segmented as (

    select
        acsi_respondents.*{{ metric_account_segment_columns() }}
    from acsi_respondents
    {{ metric_account_segments_join('acsi_respondents.account_id', 'acsi_respondents.response_date') }}

),

-- invitations whose touchpoint has a timeliness target (vars.chw) and whose trigger record was
-- found: on time when sent at or after the trigger and at most the target later. One sent
-- before its trigger's recorded time (e.g. a ticket solved again after a reopen) is not shown
-- to be on time, and counts as late
timed_invitations as (

    select
        *,
        case
            when sent_at >= trigger_at
                and {{ dbt.datediff('trigger_at', 'sent_at', 'second') }} <= target_seconds
                then 1
            else 0
        end as is_on_time
    from (
        select
            *,
            {% if timeliness_targets -%}
            case touchpoint
                {%- for touchpoint, minutes in timeliness_targets.items() %}
                when '{{ touchpoint }}' then {{ (minutes * 60) | int }}
                {%- endfor %}
            end
            {%- else -%}
            cast(null as {{ dbt.type_int() }})
            {%- endif %} as target_seconds
        from invitations_segmented
    ) as targeted
    where target_seconds is not null
        and trigger_at is not null

),

-- proportions of responses: num 1 / 0 per response
share_observations as (

    select
        'csat_pct' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        case when is_satisfied then 1 else 0 end as num,
        1 as den
    from responses_segmented
    where survey_metric = 'csat'

    union all

    select
        'nps_promoter_pct' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        case when nps_class = 'promoter' then 1 else 0 end as num,
        1 as den
    from responses_segmented
    where survey_metric = 'nps'

    union all

    select
        'nps_detractor_pct' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        case when nps_class = 'detractor' then 1 else 0 end as num,
        1 as den
    from responses_segmented
    where survey_metric = 'nps'

    union all

    select
        'survey_response_rate_pct' as metric,
        sent_date as obs_date,
        {{ metric_column_list(segments) }}
        case when has_response then 1 else 0 end as num,
        1 as den
    from invitations_segmented

    union all

    select
        'survey_timeliness_pct' as metric,
        sent_date as obs_date,
        {{ metric_column_list(segments) }}
        is_on_time as num,
        1 as den
    from timed_invitations

),

-- acsi_index: the mean of complete respondents' indexes (0-100) as sum / count, so that its
-- interval is that of a mean (metric_mean_bound)
acsi_observations as (

    select
        'acsi_index' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        acsi_index as num,
        1 as den
    from acsi_segmented
    where is_complete

),

-- respondents left out of acsi_index for a missing item: value = how many, sample_size = all
-- ACSI respondents of the period and segment
acsi_incomplete_observations as (

    select
        'acsi_incomplete_respondents' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        case when is_complete then 0 else 1 end as val
    from acsi_segmented

),

-- NPS = mean of +100 / 0 / -100 per response = % promoters - % detractors
nps_observations as (

    select
        'nps' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        nps_score as num,
        1 as den
    from responses_segmented
    where survey_metric = 'nps'

),

mean_observations as (

    select
        'csat_avg_norm' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        csat_score_norm as val
    from responses_segmented
    where survey_metric = 'csat'

    union all

    select
        'ces_avg' as metric,
        response_date as obs_date,
        {{ metric_column_list(segments) }}
        ces_effort as val
    from responses_segmented
    where survey_metric = 'ces'

),

contact_invitations as (

    select
        'surveys_per_contact_90d' as metric,
        sent_date as obs_date,
        {{ metric_column_list(segments) }}
        contact_id as obs_key
    from invitations_segmented
    where contact_id is not null

),

shares as (

    {{ metric_values('share_observations', 'ratio', segments, ci='wilson') }}

),

nps as (

    {{ metric_values('nps_observations', 'ratio', segments, ci='nps_normal') }}

),

means as (

    {{ metric_values('mean_observations', 'mean', segments) }}

),

acsi as (

    {{ metric_values('acsi_observations', 'ratio', segments, ci='mean_normal', scale=1, ci_range=[0, 100]) }}

),

acsi_incomplete as (

    {{ metric_values('acsi_incomplete_observations', 'sum', segments) }}

),

invitations_in_window as (

    {{ metric_values('contact_invitations', 'count', segments, grains=['rolling'], windows=[fatigue_days]) }}

),

contacts_in_window as (

    {{ metric_values('contact_invitations', 'count_distinct', segments, grains=['rolling'], windows=[fatigue_days]) }}

),

-- invitations per invited contact over the window: invitations / distinct contacts
surveys_per_contact as (

    select
        invitations_in_window.metric,
        invitations_in_window.grain,
        invitations_in_window.period_start,
        invitations_in_window.window_days,
        invitations_in_window.segment_type,
        invitations_in_window.segment_value,
        invitations_in_window.value / contacts_in_window.value as value,
        invitations_in_window.value as numerator,
        contacts_in_window.value as denominator,
        contacts_in_window.sample_size,
        cast(null as {{ type_double() }}) as ci_low,
        cast(null as {{ type_double() }}) as ci_high
    from invitations_in_window
    inner join contacts_in_window
        on invitations_in_window.metric = contacts_in_window.metric
        and invitations_in_window.period_start = contacts_in_window.period_start
        and invitations_in_window.window_days = contacts_in_window.window_days
        and invitations_in_window.segment_type = contacts_in_window.segment_type
        and invitations_in_window.segment_value = contacts_in_window.segment_value

),

final as (

    select * from shares
    union all
    select * from nps
    union all
    select * from means
    union all
    select * from acsi
    union all
    select * from acsi_incomplete
    union all
    select {{ metric_values_columns('surveys_per_contact') }} from surveys_per_contact

)

select * from final
