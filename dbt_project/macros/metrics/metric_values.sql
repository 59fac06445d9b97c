{#-
    metric_values(observations, aggregation, segment_types, grains, windows, ci, scale)

    Aggregates observations to every grain and segment in the long format of
    marts.metric_values, so each family model only states its observations.

    observations   a CTE or relation with one row per observation:
                     metric     the metric name (one relation may hold several metrics)
                     obs_date   DATE, the day of the observation's own timestamp (docs/metrics.md, Periods)
                     <segment>  one column per entry of segment_types (tier, channel, ...), named so;
                                a null value leaves the observation out of that segment type only
                   and, by aggregation:
                     ratio           num, den (value = scale * sum(num) / sum(den))
                     mean            val      (value = avg(val))
                     median          val      (value = median(val))
                     sum             val      (value = sum(val))
                     count           -        (value = count of observations)
                     count_distinct  obs_key  (value = distinct obs_key)
    aggregation    one of the above
    segment_types  list of segment column names; 'all' is always added
    grains         subset of day, week (Monday start), month, quarter, rolling;
                   default vars.chw.metrics.grains
    windows        rolling window lengths in days; default vars.chw.rolling_windows. A rolling
                   window of N days ending on day d covers d - N + 1 .. d; d runs over
                   int_calendar__days, so windows end on every day of the calendar.
    ci             none | 'wilson' (proportions: num in {0, 1}, den = 1) |
                   'nps_normal' (num in {-1, 0, 1}, den = 1; see metric_nps_bound) |
                   'mean_normal' (a mean as a ratio: num = the observation's value, den = 1;
                   see metric_mean_bound; needs ci_range)
    scale          multiplier of a ratio's value (100 for percentages)
    ci_range       [low, high] the 'mean_normal' interval is clamped to (the value's own range)

    Returns a select (usable as a CTE body) with the columns of marts.metric_values:
    metric, grain, period_start, window_days, segment_type, segment_value, value, numerator,
    denominator, sample_size, ci_low, ci_high, is_low_sample, cast to their contract types.

    Cost: additive aggregations (ratio, mean, sum, count) are first summed per metric, segment
    and day; every grain then reads those daily rows, and rolling windows join daily rows to the
    window ends with one date-range join. count_distinct is counted by metric_distinct_counts()
    (keys numbered, segments attached per run of days, never copied into windows). median reads
    the observations themselves (it is not additive): grouped per period, and over rolling
    windows as a window function whose range frame ends on a probe row per calendar day (copying
    every observation into each of its window ends ran the service model out of memory at M).
-#}
{% macro metric_values(observations, aggregation, segment_types=[], grains=none, windows=none, ci=none, scale=100, ci_range=none) %}
    {%- set cfg = var('chw') -%}
    {%- set grains = grains if grains is not none else cfg['metrics']['grains'] -%}
    {%- set windows = windows if windows is not none else cfg['rolling_windows'] -%}
    {%- set additive = aggregation in ['ratio', 'mean', 'sum', 'count'] -%}
    {%- if aggregation not in ['ratio', 'mean', 'sum', 'count', 'median', 'count_distinct'] -%}
        {{ exceptions.raise_compiler_error("metric_values: unknown aggregation " ~ aggregation) }}
    {%- endif -%}
    {%- set double = type_double() -%}
    {%- set string = dbt.type_string() -%}
    {%- set exact = metric_exact_type() -%}
    {#- additive inputs are summed as exact decimals (deterministic); the median reads doubles -#}
    {%- if aggregation == 'ratio' -%}
        {%- set payload = ['cast(num as ' ~ exact ~ ') as num', 'cast(den as ' ~ exact ~ ') as den'] -%}
    {%- elif aggregation in ['mean', 'sum'] -%}
        {%- set payload = ['cast(val as ' ~ exact ~ ') as val'] -%}
    {%- elif aggregation == 'median' -%}
        {%- set payload = ['cast(val as ' ~ double ~ ') as val'] -%}
    {%- else -%}
        {%- set payload = [] -%}
    {%- endif -%}
    {%- if additive -%}
        {%- set carried = ['n_obs'] + (['sum_num', 'sum_num_sq', 'sum_den', 'n_den'] if aggregation == 'ratio' else [])
                          + (['sum_val', 'n_val'] if aggregation in ['mean', 'sum'] else []) -%}
    {%- else -%}
        {%- set carried = ['val'] -%}
    {%- endif -%}
    {%- set keys = ['metric', 'segment_type', 'segment_value'] -%}
    {%- set has_periods = (grains | reject('equalto', 'rolling') | list | length > 0)
                          or ('rolling' in grains and windows | length > 0) -%}
    {%- set period_grains = grains | reject('equalto', 'rolling') | list -%}
    {%- set rolling = 'rolling' in grains and windows | length > 0 -%}
    {#- medians are not additive: their rolling windows are window functions over the observations -#}
    {%- set rolling_median = rolling and aggregation == 'median' -%}
    {%- set joined_periods = period_grains | length > 0 or (rolling and not rolling_median) -%}
    {%- if not has_periods -%}
        {{ exceptions.raise_compiler_error("metric_values: no grain to aggregate to (grains " ~ grains ~ ", windows " ~ windows ~ ")") }}
    {%- endif -%}
select * from (

with
{%- if aggregation != 'count_distinct' %}

mv_segmented as (

    select
        metric,
        obs_date,
        'all' as segment_type,
        'all' as segment_value
        {%- for p in payload %},
        {{ p }}
        {%- endfor %}
    from {{ observations }}
    {%- for segment in segment_types %}

    union all

    select
        metric,
        obs_date,
        '{{ segment }}' as segment_type,
        cast({{ segment }} as {{ string }}) as segment_value
        {%- for p in payload %},
        {{ p }}
        {%- endfor %}
    from {{ observations }}
    where {{ segment }} is not null
    {%- endfor %}

),

{%- if additive %}

mv_source as (

    select
        metric,
        segment_type,
        segment_value,
        obs_date,
        count(*) as n_obs
        {%- if aggregation == 'ratio' %},
        sum(num) as sum_num,
        {#- the square of a decimal(38, 9) is wider than 38 digits: Spark then keeps 6 decimals
            of it (DuckDB 18), and the interval bounds differed in the 8th. The observations of a
            normal interval are scores (|num| < 10^10), so (19, 9) operands square exactly. -#}
        {% if ci in ['nps_normal', 'mean_normal'] %}sum(cast(num as numeric(19, 9)) * cast(num as numeric(19, 9))){% else %}cast(null as {{ exact }}){% endif %} as sum_num_sq,
        sum(den) as sum_den,
        sum(case when den <> 0 then 1 else 0 end) as n_den
        {%- elif aggregation in ['mean', 'sum'] %},
        sum(val) as sum_val,
        count(val) as n_val
        {%- endif %}
    from mv_segmented
    group by metric, segment_type, segment_value, obs_date

),

{%- else %}

mv_source as (

    select * from mv_segmented where val is not null

),

{%- endif %}

{%- if joined_periods %}

mv_periods as (

    {%- set ns = namespace(first=true) %}
    {%- for grain in grains if grain != 'rolling' %}
    {%- if not ns.first %}

    union all
    {%- endif %}
    {%- set ns.first = false %}

    select
        '{{ grain }}' as grain,
        {% if grain == 'day' -%}
        obs_date
        {%- else -%}
        {{ metric_trunc(grain, 'obs_date') }}
        {%- endif %} as period_start,
        cast(null as {{ dbt.type_int() }}) as window_days,
        {{ (keys + carried) | join(', ') }}
    from mv_source
    {%- endfor %}
    {%- if rolling and not rolling_median %}
    {%- for n in windows %}
    {%- if not ns.first %}

    union all
    {%- endif %}
    {%- set ns.first = false %}

    select
        'rolling' as grain,
        window_ends.date_day as period_start,
        cast({{ n }} as {{ dbt.type_int() }}) as window_days,
        {%- for c in keys + carried %}
        observed.{{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    from mv_source as observed
    inner join {{ ref('int_calendar__days') }} as window_ends
        on window_ends.date_day >= observed.obs_date
        and window_ends.date_day <= {{ metric_add_days(n - 1, 'observed.obs_date') }}
    {%- endfor %}
    {%- endif %}

),

{%- endif %}

{%- if rolling_median %}

-- per series, every calendar day a window can end on (first observation .. last + longest
-- window - 1) as a probe row without a value: the window frames below are anchored on them
mv_median_probes as (

    select
        series.metric,
        series.segment_type,
        series.segment_value,
        window_ends.date_day as obs_date,
        cast(null as {{ double }}) as val,
        1 as is_probe
    from (
        select metric, segment_type, segment_value, min(obs_date) as first_day, max(obs_date) as last_day
        from mv_source
        group by metric, segment_type, segment_value
    ) as series
    inner join {{ ref('int_calendar__days') }} as window_ends
        on window_ends.date_day >= series.first_day
        and window_ends.date_day <= {{ metric_add_days(windows | max - 1, 'series.last_day') }}

),

mv_median_frames as (

    select
        metric,
        segment_type,
        segment_value,
        obs_date,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'obs_date', 'day') }} as day_number,
        val,
        is_probe
    from (
        select metric, segment_type, segment_value, obs_date, val, 0 as is_probe from mv_source
        union all
        select * from mv_median_probes
    ) as observations_and_probes

),

-- rolling medians as window functions (a range frame of N days ending on the probe's day,
-- peers included): each observation is read once per window length instead of being copied
-- into its N window ends. A window function is evaluated on every row of its partition; only
-- the probes' values are kept, so an observation's own frame is cut to its day where the engine
-- allows it (metric_probe_frame_days). Every window length is a frame of one select: the rows
-- are partitioned and sorted once, not once per length (the service model's first build alone
-- at M: 19.2 -> 17.0 s, 9 -> 5 GB allocated, no spill)
mv_rolling_frames as {{ cte_materialized() }} (

    select * from (
        select
            metric,
            segment_type,
            segment_value,
            obs_date,
            is_probe
            {%- for n in windows %},
            {{ metric_median('val') }} over frame_{{ n }} as median_val_{{ n }},
            count(val) over frame_{{ n }} as n_obs_{{ n }}
            {%- endfor %}
        from mv_median_frames
        window
        {%- for n in windows %}
            frame_{{ n }} as (
                partition by metric, segment_type, segment_value
                order by day_number
                range between {{ metric_probe_frame_days(n, 'is_probe') }} preceding and current row
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as framed
    where is_probe = 1

),

mv_rolling_medians as (

    {%- for n in windows %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        metric,
        'rolling' as grain,
        obs_date as period_start,
        cast({{ n }} as {{ dbt.type_int() }}) as window_days,
        segment_type,
        segment_value,
        median_val_{{ n }} as median_val,
        n_obs_{{ n }} as n_obs,
        is_probe
    from mv_rolling_frames
    where n_obs_{{ n }} > 0
    {%- endfor %}

),

{%- endif %}
{%- endif %}

mv_aggregated as (

    {%- if aggregation == 'count_distinct' %}

    {{ metric_distinct_counts(observations, segment_types, grains, windows) }}

    {%- else %}
    {%- if joined_periods %}

    select
        metric,
        grain,
        period_start,
        window_days,
        segment_type,
        segment_value,
        {%- if additive %}
        sum(n_obs) as n_obs
        {%- if aggregation == 'ratio' %},
        sum(sum_num) as sum_num,
        sum(sum_num_sq) as sum_num_sq,
        sum(sum_den) as sum_den,
        sum(n_den) as n_den
        {%- elif aggregation in ['mean', 'sum'] %},
        sum(sum_val) as sum_val,
        sum(n_val) as n_val
        {%- endif %}
        {%- elif aggregation == 'median' %}
        {{ metric_median('val') }} as median_val,
        count(*) as n_obs
        {%- endif %}
    from mv_periods
    group by metric, grain, period_start, window_days, segment_type, segment_value
    {%- endif %}
    {%- if joined_periods and rolling_median %}

    union all
    {%- endif %}
    {%- if rolling_median %}

    select metric, grain, period_start, window_days, segment_type, segment_value, median_val, n_obs
    from mv_rolling_medians
    {%- endif %}
    {%- endif %}

),

mv_values as (

    select
        metric,
        grain,
        period_start,
        window_days,
        segment_type,
        segment_value,
        {%- if aggregation == 'ratio' %}
        {{ scale }} * cast(sum_num as {{ double }}) / cast(sum_den as {{ double }}) as value,
        cast(sum_num as {{ double }}) as numerator,
        cast(sum_den as {{ double }}) as denominator,
        n_den as sample_size,
        {%- if ci == 'wilson' %}
        {{ metric_wilson_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', -1, scale) }} as ci_low,
        {{ metric_wilson_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', 1, scale) }} as ci_high
        {%- elif ci == 'nps_normal' %}
        {{ metric_nps_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_num_sq as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', -1, scale) }} as ci_low,
        {{ metric_nps_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_num_sq as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', 1, scale) }} as ci_high
        {%- elif ci == 'mean_normal' %}
        {%- if ci_range is none %}{{ exceptions.raise_compiler_error("metric_values: ci 'mean_normal' needs ci_range") }}{% endif %}
        {{ metric_mean_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_num_sq as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', -1, ci_range[0], ci_range[1], scale) }} as ci_low,
        {{ metric_mean_bound('cast(sum_num as ' ~ double ~ ')', 'cast(sum_num_sq as ' ~ double ~ ')', 'cast(sum_den as ' ~ double ~ ')', 1, ci_range[0], ci_range[1], scale) }} as ci_high
        {%- else %}
        cast(null as {{ double }}) as ci_low,
        cast(null as {{ double }}) as ci_high
        {%- endif %}
        {%- elif aggregation == 'mean' %}
        cast(sum_val as {{ double }}) / cast(n_val as {{ double }}) as value,
        cast(null as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        n_val as sample_size,
        cast(null as {{ double }}) as ci_low,
        cast(null as {{ double }}) as ci_high
        {%- elif aggregation == 'sum' %}
        cast(sum_val as {{ double }}) as value,
        cast(null as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        n_obs as sample_size,
        cast(null as {{ double }}) as ci_low,
        cast(null as {{ double }}) as ci_high
        {%- elif aggregation == 'median' %}
        cast(median_val as {{ double }}) as value,
        cast(null as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        n_obs as sample_size,
        cast(null as {{ double }}) as ci_low,
        cast(null as {{ double }}) as ci_high
        {%- else %}
        cast(n_obs as {{ double }}) as value,
        cast(null as {{ double }}) as numerator,
        cast(null as {{ double }}) as denominator,
        n_obs as sample_size,
        cast(null as {{ double }}) as ci_low,
        cast(null as {{ double }}) as ci_high
        {%- endif %}
    from mv_aggregated
    {%- if aggregation == 'ratio' %}
    where sum_den <> 0
    {%- elif aggregation == 'mean' %}
    where n_val > 0
    {%- endif %}

)

select {{ metric_values_columns('mv_values') }}
from mv_values

) as {{ 'mv_' ~ aggregation }}
{% endmacro %}

{#- The marts.metric_values column list, cast to contract types, from a relation holding
    metric, grain, period_start, window_days, segment_type, segment_value, value, numerator,
    denominator, sample_size, ci_low, ci_high. Adds is_low_sample (sample_size below
    vars.chw.min_sample_size). Doubles are rounded to 9 decimals (metric_round) so that a re-run
    reproduces them to the bit. -#}
{% macro metric_values_columns(relation) -%}
    {%- set double = type_double() -%}
    cast({{ relation }}.metric as {{ dbt.type_string() }}) as metric,
    cast({{ relation }}.grain as {{ dbt.type_string() }}) as grain,
    cast({{ relation }}.period_start as date) as period_start,
    cast({{ relation }}.window_days as {{ dbt.type_int() }}) as window_days,
    cast({{ relation }}.segment_type as {{ dbt.type_string() }}) as segment_type,
    cast({{ relation }}.segment_value as {{ dbt.type_string() }}) as segment_value,
    cast({{ metric_round(relation ~ '.value') }} as {{ double }}) as value,
    cast({{ metric_round(relation ~ '.numerator') }} as {{ double }}) as numerator,
    cast({{ metric_round(relation ~ '.denominator') }} as {{ double }}) as denominator,
    cast({{ relation }}.sample_size as {{ dbt.type_bigint() }}) as sample_size,
    cast({{ metric_round(relation ~ '.ci_low') }} as {{ double }}) as ci_low,
    cast({{ metric_round(relation ~ '.ci_high') }} as {{ double }}) as ci_high,
    cast({{ relation }}.sample_size as {{ dbt.type_bigint() }}) < {{ var('chw')['min_sample_size'] }} as is_low_sample
{%- endmacro %}

{#- Account attributes of an observation as of a date: a left join to
    int_calendar__account_segments (SCD-2, the first version also covers the days before it).
    Use with metric_account_segment_columns(). -#}
{% macro metric_account_segments_join(account_id, as_of_date, alias='account_segments') -%}
    left join {{ ref('int_calendar__account_segments') }} as {{ alias }}
        on {{ alias }}.account_id = {{ account_id }}
        and {{ as_of_date }} >= {{ alias }}.valid_from
        and ({{ alias }}.valid_to is null or {{ as_of_date }} < {{ alias }}.valid_to)
{%- endmacro %}

{#- The account segment columns (vars.chw.segments.account) of that join, each with a leading
    comma, so an empty list leaves a valid select list (call it right after the previous column). -#}
{% macro metric_account_segment_columns(alias='account_segments') -%}
    {%- for segment in var('chw')['segments']['account'] %},
        {{ alias }}.{{ segment }}
    {%- endfor %}
{%- endmacro %}

{#- Column names each followed by a comma (nothing for an empty list), for select lists that
    name the segment columns of observations. -#}
{% macro metric_column_list(columns) -%}
    {%- for column in columns %}{{ column }}, {% endfor -%}
{%- endmacro %}
