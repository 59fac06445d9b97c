{#-
    cte_materialized(): written between `name as` and the CTE's body, it asks the engine to
    compute the CTE once and let each query that reads it read the stored rows.

    Why: DuckDB decides by itself whether to inline a CTE read more than once, and it may inline
    one whose rows are expensive to compute. The case in point is md_obs in
    metric_distinct_counts(): the 44 M user-days of preset M as four integers each, read by five
    passes. Inlined, each pass joined the user-days to their segments again: 235-277 s for
    int_usage__metric_values's first build; materialized, 182 s (both alone on a copy of the M
    warehouse, 3GB, 2 threads).

    Dispatched by adapter: `materialized` on DuckDB (the warehouse), empty elsewhere; the result
    is the same either way. See also cte_not_materialized().
-#}
{% macro cte_materialized() -%}
    {{ return(adapter.dispatch('cte_materialized')()) }}
{%- endmacro %}

{% macro default__cte_materialized() -%}
{%- endmacro %}

{% macro duckdb__cte_materialized() -%}
    materialized
{%- endmacro %}
