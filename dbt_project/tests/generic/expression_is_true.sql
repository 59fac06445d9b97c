{#-
    expression_is_true: every row satisfies a boolean SQL expression.
    On a model: `expression: "first_extract_date <= extract_date"`.
    On a column: the expression is appended to the column (`expression: ">= 0"`).
    Rows where the expression is null (e.g. a null column) pass. Fails with the offending rows.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ column_name ~ ' ' if column_name is not none else '' }}{{ expression }})

{% endtest %}
