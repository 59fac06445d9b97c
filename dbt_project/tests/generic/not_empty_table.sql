{#-
    not_empty_table: the model holds at least one row. Warns by default: a source that never
    arrived leaves its staging models empty, which is allowed but worth seeing.
-#}
{% test not_empty_table(model) %}

{{ config(severity='warn') }}

select n_rows
from (
    select count(*) as n_rows
    from {{ model }}
) as counted
where n_rows = 0

{% endtest %}
