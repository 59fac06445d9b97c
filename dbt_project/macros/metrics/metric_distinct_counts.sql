{#-
    metric_distinct_counts(observations, segment_types, grains, windows)

    Distinct keys per metric, grain, period and segment: the count_distinct aggregation of
    metric_values() (which formats the result). Returns rows of
    metric, grain, period_start, window_days, segment_type, segment_value, n_obs.

    observations: one row per observation with metric, obs_date, obs_key and one column per
    segment type (null leaves the observation out of that segment type only).

    Why not unpivot the segments first: active users are millions of key-days, and copying each
    into 1 + len(segment_types) segment rows before counting made this the slowest model of the
    warehouse (400 s and 6 GB of spill at preset S). Instead:
      1. metrics, keys and segment combinations ("tuples") become integer ids (a hash of their
         values, checked for collisions in every build); an observation becomes integers
         (metric id, day, key id, tuple id), never made distinct (at preset M, 44 M user-days:
         a distinct over them ran out of a 3 GB memory limit; nothing below needs it).
         A key's tuple rarely changes (an account's tier or CSM), so
      2. periods: per key and period the smallest and largest tuple id (plain min/max; a
         quarter's from its three months' when months are built too). Equal
         (the usual case): the key is counted under that tuple, and tuple counts are summed into
         their segments; different: the key's tuples in that period are unpivoted and counted
         distinct on their own. The two sets of keys are disjoint, so the sum is exact;
      3. rolling windows: a key seen on day t is inside the N-day windows ending t .. t + N - 1;
         consecutive days closer than N + 1 apart merge into one run per key and tuple, and each
         window end counts the runs covering it: a running sum of +1 at a run's start and -1 the
         day after its end over int_calendar__days. The runs of a key seen in one tuple never
         overlap, so their +1/-1 are summed per tuple before being unpivoted into segments; the
         runs of a key seen in several tuples (few) are unpivoted first, and those of one key and
         segment that overlap are merged. Exact, and linear in the runs, not in key-days x
         window length.
-#}
{% macro metric_distinct_counts(observations, segment_types=[], grains=none, windows=none) %}
    {%- set cfg = var('chw') -%}
    {%- set grains = grains if grains is not none else cfg['metrics']['grains'] -%}
    {%- set windows = windows if windows is not none else cfg['rolling_windows'] -%}
    {%- set period_grains = grains | reject('equalto', 'rolling') | list -%}
    {%- set rolling = 'rolling' in grains and windows | length > 0 -%}
    {%- set string = dbt.type_string() -%}
    {%- set int = dbt.type_int() -%}
    {#- the ids, written once: the same expressions over the observations and over md_key_tuples
        (which keeps their column names) give the same ids -#}
    {%- set md_segments = [] -%}
    {%- for segment in segment_types -%}
        {%- do md_segments.append('cast(' ~ segment ~ ' as ' ~ string ~ ')') -%}
    {%- else -%}
        {%- do md_segments.append("'all'") -%}
    {%- endfor -%}
    {%- set md_key = 'cast(obs_key as ' ~ string ~ ')' -%}
    {%- set md_metric_id = metric_hash_id(['metric']) -%}
    {%- set md_key_id = metric_hash_id(['metric', md_key]) -%}
    {%- set md_tuple_id = metric_hash_id(md_segments) -%}
    {%- set md_observed = 'obs_key is not null and metric is not null' -%}
    {%- if not period_grains and not rolling -%}
        {{ exceptions.raise_compiler_error("metric_distinct_counts: no grain to aggregate to (grains " ~ grains ~ ", windows " ~ windows ~ ")") }}
    {%- endif -%}
select * from (

with

-- keys, segment combinations ("tuples") and metrics become integers: a hash of their values
-- (metric_hash_id()), computed in the pass that writes a row per key, day and tuple (md_obs), so
-- that every pass over those rows sorts and groups integers, not strings. Numbering them by a
-- join instead (key string -> id, six segment strings -> id) cost about a third of
-- int_usage__metric_values's first build at preset M (240 -> 168 s alone).
-- A hash is exact while no two values share one, which md_collisions checks in every build
-- (0, or the build fails naming the kind of value).

-- every (metric, key, tuple) observed: one pass over the observations for the three below
-- (a key rarely changes tuple: about as many rows as keys)
md_key_tuples as (

    select distinct
        metric,
        {{ md_key }} as obs_key
        {%- for segment in segment_types %},
        {{ md_segments[loop.index0] }} as {{ segment }}
        {%- endfor %}
    from {{ observations }}
    where {{ md_observed }}

),

md_tuples as (

    select
        {{ md_tuple_id }} as tuple_id
        {%- for segment in segment_types %},
        {{ segment }}
        {%- endfor %}
    from (
        select distinct
            {%- for segment in segment_types %}
            {{ segment }}{{ ',' if not loop.last }}
            {%- else %}
            'all' as no_segment
            {%- endfor %}
        from md_key_tuples
    ) as combinations

),

md_metrics as (

    select metric, {{ md_metric_id }} as metric_id
    from (select distinct metric from md_key_tuples) as metrics

),

md_collisions as (

    select {{ metric_hash_collisions('md_tuples', 'tuple_id', 'segment combinations') }} as n
    from md_tuples
    union all
    select {{ metric_hash_collisions('md_metrics', 'metric_id', 'metrics') }}
    from md_metrics
    union all
    select {{ metric_hash_collisions('md_keys', 'key_id', 'keys') }}
    from (
        select {{ md_key_id }} as key_id
        from (select distinct metric, obs_key from md_key_tuples) as keys
    ) as md_keys

),

-- a row per observation, all integers. Not made distinct: a key seen twice on a day in one
-- tuple changes no min/max, no count(distinct) and no run below, and a distinct over every
-- key-day was what ran out of memory at preset M
md_obs as {{ cte_materialized() }} (

    select
        {{ md_metric_id }} as metric_id,
        obs_date,
        {{ md_key_id }} as key_id,
        {{ md_tuple_id }} as tuple_id
    from {{ observations }}
    where {{ md_observed }}

),

-- the segments of each tuple: 'all', and one row per segment type whose value is not null
md_tuple_segments as (

    select tuple_id, 'all' as segment_type, 'all' as segment_value
    from md_tuples
    {%- for segment in segment_types %}

    union all

    select tuple_id, '{{ segment }}' as segment_type, {{ segment }} as segment_value
    from md_tuples
    where {{ segment }} is not null
    {%- endfor %}

),

{%- if period_grains %}

{%- set md_from_month = 'quarter' in period_grains and 'month' in period_grains %}
{%- set md_from_obs = period_grains | reject('equalto', 'quarter') | list if md_from_month else period_grains %}

-- per key and period: its smallest and largest tuple. Plain min/max per grain (no distinct
-- over key-days): equal means the key kept one tuple through the period (the usual case).
-- A quarter is three whole months, so its min/max are those of its months' (one pass over a
-- month per key, not over every key-day: at preset M 3.5 M rows instead of 44 M, which cut
-- int_usage__metric_values's first build 93 -> 79 s alone)
{%- for grain in md_from_obs %}

md_key_{{ grain }}_tuples as {% if grain == 'month' and md_from_month %}{{ cte_materialized() }} {% endif %}(

    select
        metric_id,
        '{{ grain }}' as grain,
        period_start,
        key_id,
        min(tuple_id) as tuple_id,
        max(tuple_id) as last_tuple_id
    from (
        select
            metric_id,
            {% if grain == 'day' %}obs_date{% else %}{{ metric_trunc(grain, 'obs_date') }}{% endif %} as period_start,
            key_id,
            tuple_id
        from md_obs
    ) as in_{{ grain }}
    group by metric_id, period_start, key_id

),
{%- endfor %}
{%- if md_from_month %}

md_key_quarter_tuples as (

    select
        metric_id,
        'quarter' as grain,
        {{ metric_trunc('quarter', 'period_start') }} as period_start,
        key_id,
        min(tuple_id) as tuple_id,
        max(last_tuple_id) as last_tuple_id
    from md_key_month_tuples
    group by metric_id, {{ metric_trunc('quarter', 'period_start') }}, key_id

),
{%- endif %}

md_key_period_tuples as (

    {%- for grain in period_grains %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select * from md_key_{{ grain }}_tuples
    {%- endfor %}

),

-- keys with one tuple in the period: counted per tuple, then summed into its segments
md_single_tuple_counts as (

    select
        counts.metric_id,
        counts.grain,
        counts.period_start,
        md_tuple_segments.segment_type,
        md_tuple_segments.segment_value,
        sum(counts.n_keys) as n_obs
    from (
        select metric_id, grain, period_start, tuple_id, count(*) as n_keys
        from md_key_period_tuples
        where tuple_id = last_tuple_id
        group by metric_id, grain, period_start, tuple_id
    ) as counts
    inner join md_tuple_segments
        on counts.tuple_id = md_tuple_segments.tuple_id
    group by counts.metric_id, counts.grain, counts.period_start, md_tuple_segments.segment_type, md_tuple_segments.segment_value

),

-- keys whose segments changed within the period (few): their tuples in it, each key counted
-- once per segment value
md_multi_tuple_keys as (

    select metric_id, grain, period_start, key_id
    from md_key_period_tuples
    where tuple_id <> last_tuple_id

),

md_multi_tuple_counts as (

    select
        multi.metric_id,
        multi.grain,
        multi.period_start,
        md_tuple_segments.segment_type,
        md_tuple_segments.segment_value,
        count(distinct multi.key_id) as n_obs
    from (
        {%- for grain in period_grains %}
        {%- if not loop.first %}
        union all
        {%- endif %}
        select
            md_multi_tuple_keys.metric_id,
            md_multi_tuple_keys.grain,
            md_multi_tuple_keys.period_start,
            md_multi_tuple_keys.key_id,
            md_obs.tuple_id
        from md_obs
        inner join md_multi_tuple_keys
            on md_multi_tuple_keys.grain = '{{ grain }}'
            and md_obs.metric_id = md_multi_tuple_keys.metric_id
            and md_obs.key_id = md_multi_tuple_keys.key_id
            and {% if grain == 'day' %}md_obs.obs_date{% else %}{{ metric_trunc(grain, 'md_obs.obs_date') }}{% endif %} = md_multi_tuple_keys.period_start
        {%- endfor %}
    ) as multi
    inner join md_tuple_segments
        on multi.tuple_id = md_tuple_segments.tuple_id
    group by multi.metric_id, multi.grain, multi.period_start, md_tuple_segments.segment_type, md_tuple_segments.segment_value

),

md_period_counts as (

    select
        metric_id,
        grain,
        period_start,
        cast(null as {{ int }}) as window_days,
        segment_type,
        segment_value,
        sum(n_obs) as n_obs
    from (
        select * from md_single_tuple_counts
        union all
        select * from md_multi_tuple_counts
    ) as both_kinds
    group by metric_id, grain, period_start, segment_type, segment_value

),

{%- endif %}

{%- if rolling %}

md_gaps as (

    select
        metric_id,
        key_id,
        tuple_id,
        obs_date,
        {{ dbt.datediff('previous_obs_date', 'obs_date', 'day') }} as gap_before,
        {{ dbt.datediff('obs_date', 'next_obs_date', 'day') }} as gap_after
    from (
        select
            *,
            lag(obs_date) over (partition by metric_id, key_id, tuple_id order by obs_date) as previous_obs_date,
            lead(obs_date) over (partition by metric_id, key_id, tuple_id order by obs_date) as next_obs_date
        from md_obs
    ) as ordered

),

-- runs of days of one key and tuple whose N-day coverages touch: a run starts after a gap of
-- more than N days and ends before one. Only the first and last day of each run are kept
-- (few rows), and each first day is paired with the next last day.
md_runs as (

    {%- for n in windows %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        metric_id,
        key_id,
        tuple_id,
        cast({{ n }} as {{ int }}) as window_days,
        obs_date as run_start,
        {{ metric_add_days(n, 'run_last_day') }} as run_end_excl
    from (
        select
            *,
            case
                when gap_after is null or gap_after > {{ n }} then obs_date
                -- a repeated key-day: its run-start copy (gap_after 0) sorts before its run-end copy
                else lead(obs_date) over (partition by metric_id, key_id, tuple_id order by obs_date, gap_after nulls last)
            end as run_last_day
        from md_gaps
        where gap_before is null or gap_before > {{ n }}
            or gap_after is null or gap_after > {{ n }}
    ) as bounds
    where gap_before is null or gap_before > {{ n }}
    {%- endfor %}

),

-- keys seen in more than one tuple (a segment changed while they were observed: few). Only
-- their runs can overlap within a segment: the runs of one key and tuple never do, a run
-- starting more than N days after the previous one's last day, where that one ends
md_multi_tuple_run_keys as (

    select metric_id, key_id
    from md_runs
    group by metric_id, key_id
    having min(tuple_id) <> max(tuple_id)

),

md_run_kinds as {{ cte_materialized() }} (

    select
        md_runs.*,
        md_multi_tuple_run_keys.key_id is not null as is_multi_tuple
    from md_runs
    left join md_multi_tuple_run_keys
        on md_runs.metric_id = md_multi_tuple_run_keys.metric_id
        and md_runs.key_id = md_multi_tuple_run_keys.key_id

),

-- the other keys' runs: +1 at a run's start and -1 where it ends, summed per tuple and day
-- before they are unpivoted into segments (a tuple has several segments, a day many runs: at
-- preset M this skips a window over every run in every segment)
md_single_tuple_changes as (

    select metric_id, window_days, tuple_id, change_day, sum(change) as change
    from (
        select metric_id, window_days, tuple_id, run_start as change_day, 1 as change
        from md_run_kinds
        where not is_multi_tuple
        union all
        select metric_id, window_days, tuple_id, run_end_excl as change_day, -1 as change
        from md_run_kinds
        where not is_multi_tuple
    ) as run_bounds
    group by metric_id, window_days, tuple_id, change_day

),

-- the multi-tuple keys' runs in segments, where runs of one key in one segment overlap
md_segment_runs as (

    select
        md_run_kinds.metric_id,
        md_run_kinds.window_days,
        md_tuple_segments.segment_type,
        md_tuple_segments.segment_value,
        md_run_kinds.key_id,
        md_run_kinds.run_start,
        md_run_kinds.run_end_excl,
        max(md_run_kinds.run_end_excl) over (
            partition by md_run_kinds.metric_id, md_run_kinds.window_days, md_tuple_segments.segment_type,
                md_tuple_segments.segment_value, md_run_kinds.key_id
            order by md_run_kinds.run_start, md_run_kinds.run_end_excl
            rows between unbounded preceding and 1 preceding
        ) as covered_until
    from md_run_kinds
    inner join md_tuple_segments
        on md_run_kinds.tuple_id = md_tuple_segments.tuple_id
    where md_run_kinds.is_multi_tuple

),

-- merged coverage: a run that starts inside an earlier run of the same key and segment
-- only extends it
md_changes as (

    select
        md_single_tuple_changes.metric_id,
        md_single_tuple_changes.window_days,
        md_tuple_segments.segment_type,
        md_tuple_segments.segment_value,
        md_single_tuple_changes.change_day,
        md_single_tuple_changes.change
    from md_single_tuple_changes
    inner join md_tuple_segments
        on md_single_tuple_changes.tuple_id = md_tuple_segments.tuple_id

    union all

    select
        metric_id,
        window_days,
        segment_type,
        segment_value,
        case
            when covered_until is null or run_start >= covered_until then run_start
            else covered_until
        end as change_day,
        1 as change
    from md_segment_runs
    where covered_until is null or run_end_excl > covered_until

    union all

    select
        metric_id,
        window_days,
        segment_type,
        segment_value,
        run_end_excl as change_day,
        -1 as change
    from md_segment_runs
    where covered_until is null or run_end_excl > covered_until

),

md_daily_changes as (

    select
        metric_id,
        window_days,
        segment_type,
        segment_value,
        change_day,
        sum(change) as change
    from md_changes
    group by metric_id, window_days, segment_type, segment_value, change_day

),

md_series as (

    select distinct metric_id, window_days, segment_type, segment_value
    from md_daily_changes

),

md_rolling_counts as (

    select * from (
        select
            md_series.metric_id,
            'rolling' as grain,
            window_ends.date_day as period_start,
            md_series.window_days,
            md_series.segment_type,
            md_series.segment_value,
            sum(coalesce(md_daily_changes.change, 0)) over (
                partition by md_series.metric_id, md_series.segment_type, md_series.segment_value, md_series.window_days
                order by window_ends.date_day
                rows between unbounded preceding and current row
            ) as n_obs
        from md_series
        cross join {{ ref('int_calendar__days') }} as window_ends
        left join md_daily_changes
            on md_series.metric_id = md_daily_changes.metric_id
            and md_series.segment_type = md_daily_changes.segment_type
            and md_series.segment_value = md_daily_changes.segment_value
            and md_series.window_days = md_daily_changes.window_days
            and window_ends.date_day = md_daily_changes.change_day
    ) as running
    where n_obs > 0

),

{%- endif %}

md_final as (

    select
        md_metrics.metric,
        counts.grain,
        counts.period_start,
        counts.window_days,
        counts.segment_type,
        counts.segment_value,
        counts.n_obs
    from (
        {%- if period_grains %}
        select * from md_period_counts
        {%- endif %}
        {%- if period_grains and rolling %}
        union all
        {%- endif %}
        {%- if rolling %}
        select * from md_rolling_counts
        {%- endif %}
    ) as counts
    inner join md_metrics
        on counts.metric_id = md_metrics.metric_id
    -- 0 when no two values share a hash; otherwise metric_hash_collisions() fails the query
    where (select sum(n) from md_collisions) = 0

)

select * from md_final

) as md_counts
{% endmacro %}


{#-
    metric_hash_id(expressions): an integer identifying a combination of values (NULL is a value
    too), for grouping and sorting many rows by integers instead of strings. Two different
    combinations may in principle share one (64 bits: at 400 000 keys the chance is about 1 in
    200 million), so every use is paired with metric_hash_collisions().
-#}
{% macro metric_hash_id(expressions) -%}
    {{ return(adapter.dispatch('metric_hash_id')(expressions)) }}
{%- endmacro %}

{% macro default__metric_hash_id(expressions) -%}
    {{ exceptions.raise_compiler_error("metric_hash_id: no integer hash written for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__metric_hash_id(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{#- Spark: xxhash64 (64 bits, NULL hashes as a value too). -#}
{% macro spark__metric_hash_id(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}


{#-
    metric_hash_collisions(relation, id_column, what): a scalar subquery over `relation` (one row
    per distinct value, with its metric_hash_id() in `id_column`) that is 0 when the ids are
    distinct too, and otherwise stops the query with an error naming `what`: a count merged
    by a shared hash would be wrong without a sign of it.
-#}
{% macro metric_hash_collisions(relation, id_column, what) -%}
    {{ return(adapter.dispatch('metric_hash_collisions')(relation, id_column, what)) }}
{%- endmacro %}

{% macro default__metric_hash_collisions(relation, id_column, what) -%}
    {{ exceptions.raise_compiler_error("metric_hash_collisions: not written for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__metric_hash_collisions(relation, id_column, what) -%}
    case
        when count(*) = count(distinct {{ id_column }}) then 0
        else error('metric_distinct_counts: two different ' || {{ dbt.string_literal(what) }}
            || ' share an integer id in ' || {{ dbt.string_literal(relation) }}
            || '; counts by id would merge them. Report this: it needs another id')
    end
{%- endmacro %}

{% macro spark__metric_hash_collisions(relation, id_column, what) -%}
    case
        when count(*) = count(distinct {{ id_column }}) then 0
        else raise_error('metric_distinct_counts: two different ' || {{ dbt.string_literal(what) }}
            || ' share an integer id in ' || {{ dbt.string_literal(relation) }}
            || '; counts by id would merge them. Report this: it needs another id')
    end
{%- endmacro %}
