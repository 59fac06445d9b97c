{#-
    type_double(): the 8-byte floating point type. dbt.type_float() is not it everywhere
    (on DuckDB `float` is 4 bytes), so the contract's DOUBLE columns are cast with this.
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{% macro trino__type_double() -%}
    double
{%- endmacro %}
