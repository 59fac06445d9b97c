{#- Date helpers for metric periods: always return DATE (dbt's cross-database macros return a
    timestamp on some adapters, DuckDB included). -#}
{% macro metric_trunc(datepart, expr) -%}
    cast({{ dbt.date_trunc(datepart, expr) }} as date)
{%- endmacro %}

{% macro metric_add_days(days, expr) -%}
    cast({{ dbt.dateadd('day', days, expr) }} as date)
{%- endmacro %}

{#- Last day of the period of `datepart` that starts on `period_start`. -#}
{% macro metric_period_end(datepart, period_start) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd(datepart, 1, period_start)) }} as date)
{%- endmacro %}

{#- A timestamp's day (UTC: the warehouse session runs in UTC). -#}
{% macro metric_day(expr) -%}
    cast({{ expr }} as date)
{%- endmacro %}
