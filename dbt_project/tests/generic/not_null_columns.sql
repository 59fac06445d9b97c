{#-
    not_null_columns: none of the listed columns holds a null.
    `columns: [event_id, account_id, occurred_at]` on a model.
    One test and one scan per model instead of a `not_null` per column: each dbt test is a node,
    a query and two Dagster events, and the 138 single-column tests were a third of a run's
    nodes (bench/RESULTS.md, session 10). Fails with one row per column that holds nulls, and
    how many.
-#}
{% test not_null_columns(model, columns) %}

with null_counts as (
    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

{% for column in columns -%}
select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows
from null_counts
where null_rows_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}

{% endtest %}
