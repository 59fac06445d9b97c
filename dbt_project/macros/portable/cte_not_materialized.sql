{#-
    cte_not_materialized(): written between `name as` and the CTE's body, it asks the engine to
    inline the CTE into each query that reads it instead of writing its rows once and reading
    them back.

    Why: DuckDB materializes a CTE read more than once. Where the CTE is cheap to compute and its
    rows are many and wide, writing them costs more than computing them again, and at a 3GB memory
    limit the copy spills to disk. The case in point is the user-day observations of
    int_usage__metric_values: 44 M rows at preset M, each with the key as a string and six segment
    strings, read three times. Measured on its first build at M, run alone on a copy of the
    warehouse (3GB, 2 threads): 227.0 s materialized, 206.9 s inlined.

    Dispatched by adapter: `not materialized` on DuckDB (the warehouse), empty elsewhere; the result
    is the same either way.
-#}
{% macro cte_not_materialized() -%}
    {{ return(adapter.dispatch('cte_not_materialized')()) }}
{%- endmacro %}

{% macro default__cte_not_materialized() -%}
{%- endmacro %}

{% macro duckdb__cte_not_materialized() -%}
    not materialized
{%- endmacro %}
