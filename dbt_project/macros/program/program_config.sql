{#-
    The satisfaction program's configuration (vars.chw.program), checked once here so that a
    typo fails the compile with its metric's name instead of producing an empty mart.

    program_metrics()        {metric: {owner_team, cadence, direction, threshold or none}}
    program_headline()       the headline set, in order (8-10 configured metrics)
    program_cadence_grain(c) weekly -> week, monthly -> month, quarterly -> quarter
    threshold_alert_rules()  {alert_type: {metric, direction, value, window_days, min_sample,
                              segment_types, owner, due_hours}}: one alert rule per threshold
    alert_rules()            vars.chw.alerts plus threshold_alert_rules(): every alert type with
                              its owner and due hours (marts.alerts resolves owners from it)
-#}
{% macro program_cadence_grain(cadence) -%}
    {{- return({'weekly': 'week', 'monthly': 'month', 'quarterly': 'quarter'}[cadence]) -}}
{%- endmacro %}

{% macro program_metrics() %}
    {%- set program = var('chw')['program'] -%}
    {%- set teams = program['owner_teams'] -%}
    {%- set windows = var('chw')['rolling_windows'] -%}
    {%- set out = {} -%}
    {%- for metric, cfg in program['metrics'].items() -%}
        {%- if cfg['owner_team'] not in teams -%}
            {{ exceptions.raise_compiler_error("vars.chw.program.metrics." ~ metric ~ ": owner_team '" ~ cfg['owner_team'] ~ "' is not one of " ~ teams) }}
        {%- endif -%}
        {%- if cfg['cadence'] not in ['weekly', 'monthly', 'quarterly'] -%}
            {{ exceptions.raise_compiler_error("vars.chw.program.metrics." ~ metric ~ ": cadence '" ~ cfg['cadence'] ~ "' is not weekly, monthly or quarterly") }}
        {%- endif -%}
        {%- if cfg['direction'] not in ['higher_is_better', 'lower_is_better'] -%}
            {{ exceptions.raise_compiler_error("vars.chw.program.metrics." ~ metric ~ ": direction '" ~ cfg['direction'] ~ "' is not higher_is_better or lower_is_better") }}
        {%- endif -%}
        {%- set t = cfg.get('threshold') -%}
        {%- if t -%}
            {%- if t.get('grain', 'rolling') != 'rolling' or t.get('window_days') not in windows -%}
                {{ exceptions.raise_compiler_error("vars.chw.program.metrics." ~ metric ~ ".threshold: grain must be rolling and window_days one of vars.chw.rolling_windows " ~ windows) }}
            {%- endif -%}
            {%- set threshold = {
                'value': t['value'],
                'grain': 'rolling',
                'window_days': t['window_days'],
                'min_sample': t.get('min_sample', 1),
                'segment_types': t.get('segment_types', ['all']),
                'alert_type': t.get('alert_type', metric ~ '_threshold'),
                'owner': t.get('alert_owner', cfg['owner_team']),
                'due_hours': t.get('due_hours', 168),
            } -%}
        {%- else -%}
            {%- set threshold = none -%}
        {%- endif -%}
        {%- do out.update({metric: {
            'owner_team': cfg['owner_team'],
            'cadence': cfg['cadence'],
            'direction': cfg['direction'],
            'threshold': threshold,
        }}) -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}

{% macro program_headline() %}
    {%- set program = var('chw')['program'] -%}
    {%- set headline = program['headline'] -%}
    {%- for metric in headline if metric not in program['metrics'] -%}
        {{ exceptions.raise_compiler_error("vars.chw.program.headline: '" ~ metric ~ "' is not in vars.chw.program.metrics") }}
    {%- endfor -%}
    {%- if headline | length < 8 or headline | length > 10 or headline | unique | list | length != headline | length -%}
        {{ exceptions.raise_compiler_error("vars.chw.program.headline: 8 to 10 distinct metrics (docs/metrics.md), got " ~ headline) }}
    {%- endif -%}
    {{ return(headline) }}
{% endmacro %}

{% macro threshold_alert_rules() %}
    {%- set rules = {} -%}
    {%- for metric, cfg in program_metrics().items() if cfg['threshold'] -%}
        {%- set t = cfg['threshold'] -%}
        {%- if t['alert_type'] in var('chw')['alerts'] or t['alert_type'] in rules -%}
            {{ exceptions.raise_compiler_error("vars.chw.program.metrics." ~ metric ~ ".threshold: alert_type '" ~ t['alert_type'] ~ "' is already used") }}
        {%- endif -%}
        {%- do rules.update({t['alert_type']: {
            'metric': metric,
            'direction': cfg['direction'],
            'value': t['value'],
            'window_days': t['window_days'],
            'min_sample': t['min_sample'],
            'segment_types': t['segment_types'],
            'owner': t['owner'],
            'due_hours': t['due_hours'],
        }}) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}

{% macro alert_rules() %}
    {%- set rules = {} -%}
    {%- do rules.update(var('chw')['alerts']) -%}
    {%- do rules.update(threshold_alert_rules()) -%}
    {{ return(rules) }}
{% endmacro %}

{#- The breach test, one expression for alerts and reviews: strictly below the threshold where
    higher is better, strictly above where lower is better; a value equal to it is no breach.
    direction is a SQL expression (a column, or a quoted literal). -#}
{% macro threshold_breached(value, threshold, direction) -%}
    (case
        when {{ direction }} = 'higher_is_better' then {{ value }} < {{ threshold }}
        when {{ direction }} = 'lower_is_better' then {{ value }} > {{ threshold }}
    end)
{%- endmacro %}
