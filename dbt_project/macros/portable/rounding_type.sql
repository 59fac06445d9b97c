{#-
    rounding_type(): the exact type a double is cast to before round(), where the rounded value
    is published (scores, contributions).

    Why: the engines round a double differently at a decimal tie. 0.25 x 36.1538 is 9.03845 on
    paper and 9.038449999... as a double: DuckDB rounded it to 9.0384, Spark (which rounds the
    double's shortest decimal form) to 9.0385. Cast to a decimal with 12 places first, both hold
    9.038450000000 and round half up to 9.0385, the value a reader computes by hand.
-#}
{% macro rounding_type() -%}
    decimal(38, 12)
{%- endmacro %}
