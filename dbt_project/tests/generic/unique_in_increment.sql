{#-
    unique_in_increment: no two rows share the values of combination_of_columns, checked where
    the model's last build wrote (docs/ARCHITECTURE.md: a day's run costs what the day brings, not history).

    For incremental models that record their cutoff (pre-hook record_increment_cutoff(
    changed_column), macros/incremental/increment_cutoff.sql). After an incremental build the
    rows with changed_column > cutoff are exactly the rows it wrote; every other row was there,
    and checked, before.
      scope_column none   the combination is the model's unique_key (delete+insert): the build
                          deleted every existing row holding a key it wrote, so a duplicate can
                          only be among the rows it wrote; those are grouped (stg_product__events:
                          a week of events, not 100 M).
      scope_column set    the model replaces whole scopes (delete+insert by activity_date) and the
                          combination includes the scope: a duplicate lies within one scope, so
                          the scopes holding a written row are grouped.
    A full build (cutoff null), or a model built before it recorded its cutoff: every row.
-#}
{% test unique_in_increment(model, combination_of_columns, changed_column, scope_column=none) %}
{%- set columns = combination_of_columns | join(', ') -%}
{%- set cutoff = recorded_increment_cutoff(model) %}

select
    {{ columns }},
    count(*) as n_rows
from {{ model }}
{%- if cutoff is not none %}
{%- if scope_column is none %}
where {{ changed_column }} > {{ cutoff }}
{%- else %}
where {{ scope_column }} in (
    select distinct {{ scope_column }} from {{ model }} where {{ changed_column }} > {{ cutoff }}
)
{%- endif %}
{%- endif %}
group by {{ columns }}
having count(*) > 1

{% endtest %}
