{#-
    redact_pii(column): the text with e-mail addresses replaced by `[email]` and phone numbers
    by `[phone]`, so free text (survey comments, review titles and bodies) carries no personal
    data past staging.

    E-mail: any letters or digits (not only ASCII: `jürgen.müller@beispiel.de` is one address,
    not `jürgen.mü` + an address) before `@`, a dotted domain.

    Phone numbers, written the ways customers write them:
    - international: `+` or `00` then the country code, digits, spaces, dots, dashes, slashes
      and brackets (+44 20 7946 0958, 0044 20 7946 0958, +49 (0)171 1234567);
    - national with a trunk `0` and an area code, in two or three groups of at least 9 digits
      in all (020 7946 0958, 0171/1234567, (0171) 1234567, 030-12345678);
    - French style, five pairs from `0` (06 12 34 56 78, 06.12.34.56.78);
    - North American (555) 123-4567 / 555.123.4567, and a bare run of 9-15 digits.
    Kept: dates (2024-01-05, 05.01.2024, 05/01/2024), amounts (1.234.567,89, 12 345 678),
    versions (1.2.3), short ids and scores (#48213, ACC-00042, 9/10): no pattern above matches
    fewer than 9 digits, and the ones starting with `0` need the `0` to start a number.

    Dispatched by adapter: regular-expression flags and string-literal escapes differ between
    engines (tests/test_redact_pii.py checks both implementations against the same examples).
-#}
{% macro pii_email_pattern() -%}
    [\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}
{%- endmacro %}

{% macro pii_phone_pattern() -%}
    (?:\+|\b00)[1-9][0-9 ()./-]{6,}[0-9]
    |\(?\b0[1-9][0-9]{1,4}\)?[ /.-]?[0-9]{3,4}[ .-]?[0-9]{3,4}\b
    |\b0[1-9](?:[ .-]?[0-9]{2}){4}\b
    |\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}\b
    |\b[0-9]{9,15}\b
{%- endmacro %}

{#- The patterns above as one line (they are written one alternative a line for reading). -#}
{% macro _pii_pattern(name) -%}
    {%- set text = context[name]() -%}
    {{- text | replace('\n', '') | replace(' ' * 4, '') -}}
{%- endmacro %}

{% macro redact_pii(column) -%}
    {{ return(adapter.dispatch('redact_pii')(column)) }}
{%- endmacro %}

{#- DuckDB (RE2) replaces only the first match unless given the 'g' flag. Its string literals
    keep backslashes as they are. -#}
{% macro duckdb__redact_pii(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '{{ _pii_pattern("pii_email_pattern") }}', '[email]', 'g'),
        '{{ _pii_pattern("pii_phone_pattern") }}', '[phone]', 'g'
    )
{%- endmacro %}

{#- Spark (Java regular expressions): three-argument regexp_replace replaces every match. Spark
    SQL string literals treat the backslash as an escape character (`'\b'` is a backspace, `'\d'`
    is `d`), so every backslash of the pattern is doubled to reach the regex engine intact.
    (This assumes Spark's default spark.sql.parser.escapedStringLiterals=false.) -#}
{% macro spark__redact_pii(column) -%}
    regexp_replace(
        regexp_replace({{ column }}, '{{ _pii_pattern("pii_email_pattern") | replace("\\", "\\\\") }}', '[email]'),
        '{{ _pii_pattern("pii_phone_pattern") | replace("\\", "\\\\") }}', '[phone]'
    )
{%- endmacro %}

{% macro default__redact_pii(column) -%}
    {{ exceptions.raise_compiler_error(
        "redact_pii has implementations for DuckDB and Spark only, not " ~ adapter.type()
        ~ ": add one (regular-expression flags and string-literal escapes differ between engines)") }}
{%- endmacro %}
