{#-
    redact_pii(column): the text with e-mail addresses replaced by `[email]` and phone numbers
    by `[phone]`, so free text (survey comments, review titles and bodies) carries no personal
    data past staging.

    Phone numbers: an international number starting with `+` (digits, spaces, dots, dashes,
    brackets), a 10-digit national number such as (555) 123-4567 / 555.123.4567, or a bare run
    of 9-15 digits. Dates (2024-01-05), versions (1.2.3) and short numbers are kept.

    Dispatched by adapter: regular-expression flags differ between engines.
-#}
{% macro pii_email_pattern() -%}
    [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}
{%- endmacro %}

{% macro pii_phone_pattern() -%}
    \+[0-9][0-9 ().-]{6,}[0-9]|\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}\b|\b[0-9]{9,15}\b
{%- endmacro %}

{% macro redact_pii(column) -%}
    {{ return(adapter.dispatch('redact_pii')(column)) }}
{%- endmacro %}

{#- DuckDB and Postgres replace only the first match unless given the 'g' flag. -#}
{% macro duckdb__redact_pii(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '{{ pii_email_pattern() }}', '[email]', 'g'),
        '{{ pii_phone_pattern() }}', '[phone]', 'g'
    )
{%- endmacro %}

{% macro postgres__redact_pii(column) -%}
    {{ duckdb__redact_pii(column) }}
{%- endmacro %}

{#- Spark, Trino, Snowflake, BigQuery: three-argument regexp_replace replaces every match. -#}
{% macro default__redact_pii(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '{{ pii_email_pattern() }}', '[email]'),
        '{{ pii_phone_pattern() }}', '[phone]'
    )
{%- endmacro %}
