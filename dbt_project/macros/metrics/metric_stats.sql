{#-
    Small statistical helpers for marts.metric_values.

    metric_median(expr)        the median of expr (an aggregate). Dispatched by adapter: DuckDB has
                               median(); the SQL standard ordered-set aggregate elsewhere.
    metric_quantile(expr, q)   the q-quantile of expr (an aggregate), linearly interpolated between
                               the two nearest values, as numpy's default (and percentile_cont).
    metric_probe_frame_days(n, is_probe)  how far a rolling median's frame reaches back (below).
    metric_z_score()           the two-sided normal quantile for vars.chw.confidence_level.
    metric_wilson_bound(...)   Wilson score interval bound for a proportion x / n, scaled.
    metric_nps_bound(...)      normal-approximation interval of the NPS: the score of each response
                               is +1 (promoter), 0 (passive), -1 (detractor); with mean m and
                               variance v = sum(score^2)/n - m^2, the bound is m +/- z * sqrt(v / n),
                               scaled to -100..100 and clamped to it.
    metric_mean_bound(...)     normal-approximation interval of a mean of n observations (sum,
                               sum of squares): m +/- z * s / sqrt(n) with the sample variance
                               s^2 = (sum_sq - sum^2 / n) / (n - 1), clamped to the value's range;
                               null below two observations (no spread to estimate).
-#}
{% macro metric_median(expr) -%}
    {{ return(adapter.dispatch('metric_median')(expr)) }}
{%- endmacro %}

{% macro default__metric_median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__metric_median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro metric_quantile(expr, q) -%}
    {{ return(adapter.dispatch('metric_quantile')(expr, q)) }}
{%- endmacro %}

{% macro default__metric_quantile(expr, q) -%}
    percentile_cont({{ q }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__metric_quantile(expr, q) -%}
    quantile_cont({{ expr }}, {{ q }})
{%- endmacro %}

{% macro spark__metric_quantile(expr, q) -%}
    percentile({{ expr }}, {{ q }})
{%- endmacro %}

{% macro spark__metric_median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}

{#-
    metric_probe_frame_days(n, is_probe): the days a rolling median's range frame reaches back.
    Only the probe rows' medians are kept, so where the engine allows a per-row frame offset
    (DuckDB) an observation's frame is cut to its own day: the windowed median is then cheap on
    the observations (7x faster at M). The SQL standard wants a constant offset: N - 1 on every
    row, same result, more work.
-#}
{% macro metric_probe_frame_days(n, is_probe) -%}
    {{ return(adapter.dispatch('metric_probe_frame_days')(n, is_probe)) }}
{%- endmacro %}

{% macro default__metric_probe_frame_days(n, is_probe) -%}
    {{ n - 1 }}
{%- endmacro %}

{% macro duckdb__metric_probe_frame_days(n, is_probe) -%}
    (case when {{ is_probe }} = 1 then {{ n - 1 }} else 0 end)
{%- endmacro %}

{% macro metric_z_score() -%}
    {%- set level = var('chw')['confidence_level'] | default(0.95) | float -%}
    {%- set table = {0.8: 1.2815515655446004, 0.9: 1.6448536269514722, 0.95: 1.959963984540054,
                     0.98: 2.3263478740408408, 0.99: 2.5758293035489004, 0.999: 3.2905267314919255} -%}
    {%- if level not in table -%}
        {{ exceptions.raise_compiler_error("vars.chw.confidence_level must be one of " ~ (table.keys() | list)) }}
    {%- endif -%}
    {{ return(table[level]) }}
{%- endmacro %}

{#- x successes of n trials (both double expressions); side is -1 (low) or +1 (high). -#}
{% macro metric_wilson_bound(x, n, side, scale=100) -%}
    {%- set z = metric_z_score() -%}
    {#- clamped to 0..scale: at x = 0 or x = n the formula lands on the bound up to rounding -#}
    case when {{ n }} > 0 then greatest(0, least({{ scale }}, {{ scale }} * (
        ({{ x }}) / ({{ n }}) + {{ z * z }} / (2 * ({{ n }}))
        {{ '-' if side < 0 else '+' }} {{ z }} * sqrt(
            (({{ x }}) / ({{ n }})) * (1 - ({{ x }}) / ({{ n }})) / ({{ n }})
            + {{ z * z }} / (4 * ({{ n }}) * ({{ n }}))
        )
    ) / (1 + {{ z * z }} / ({{ n }})))) end
{%- endmacro %}

{#- sum_score = promoters - detractors, sum_score_sq = promoters + detractors, n = responses. -#}
{% macro metric_nps_bound(sum_score, sum_score_sq, n, side, scale=100) -%}
    {%- set z = metric_z_score() -%}
    {%- set raw -%}
        {{ scale }} * (
            ({{ sum_score }}) / ({{ n }})
            {{ '-' if side < 0 else '+' }} {{ z }} * sqrt(
                case
                    when ({{ sum_score_sq }}) / ({{ n }}) - (({{ sum_score }}) / ({{ n }})) * (({{ sum_score }}) / ({{ n }})) > 0
                        then (({{ sum_score_sq }}) / ({{ n }}) - (({{ sum_score }}) / ({{ n }})) * (({{ sum_score }}) / ({{ n }}))) / ({{ n }})
                    else 0
                end
            )
        )
    {%- endset -%}
    case
        when {{ n }} > 0 and {{ raw }} < -{{ scale }} then -{{ scale }}
        when {{ n }} > 0 and {{ raw }} > {{ scale }} then {{ scale }}
        when {{ n }} > 0 then {{ raw }}
    end
{%- endmacro %}

{#- metric_round(expr, places): a double rounded to `places` decimals. Sums of doubles depend on
    the order the engine adds them in (parallel aggregation), which changes the last bits from
    run to run; rounding published values keeps a re-run byte-identical. Postgres rounds only
    numeric to a number of places. -#}
{% macro metric_round(expr, places=9) -%}
    {{ return(adapter.dispatch('metric_round')(expr, places)) }}
{%- endmacro %}

{% macro default__metric_round(expr, places=9) -%}
    round({{ expr }}, {{ places }})
{%- endmacro %}

{% macro postgres__metric_round(expr, places=9) -%}
    cast(round(cast({{ expr }} as numeric), {{ places }}) as double precision)
{%- endmacro %}

{#- metric_exact_type(): the exact numeric type observations are summed in. Summing doubles
    in parallel gives results that differ in the last bits from run to run; sums of a fixed-point
    decimal are exact, so every re-run reproduces the same metric values. -#}
{% macro metric_exact_type() -%}
    {{ return(adapter.dispatch('metric_exact_type')()) }}
{%- endmacro %}

{% macro default__metric_exact_type() -%}
    numeric(38, 9)
{%- endmacro %}

{#- sum, sum_sq and n (double expressions) of the observations; side -1 (low) or +1 (high); the
    bound is clamped to low..high (the range the value itself lives in). -#}
{% macro metric_mean_bound(sum, sum_sq, n, side, low, high, scale=1) -%}
    {%- set z = metric_z_score() -%}
    {%- set variance -%}
        (({{ sum_sq }}) - ({{ sum }}) * ({{ sum }}) / ({{ n }})) / (({{ n }}) - 1)
    {%- endset -%}
    {%- set raw -%}
        {{ scale }} * (
            ({{ sum }}) / ({{ n }})
            {{ '-' if side < 0 else '+' }} {{ z }} * sqrt(
                case when {{ variance }} > 0 then {{ variance }} / ({{ n }}) else 0 end
            )
        )
    {%- endset -%}
    case
        when ({{ n }}) >= 2 then greatest({{ low }}, least({{ high }}, {{ raw }}))
    end
{%- endmacro %}
