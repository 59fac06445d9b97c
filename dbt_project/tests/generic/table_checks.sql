{#-
    table_checks: every error-level rule on a model's rows, in one test.

        data_tests:
          - table_checks:
              arguments:
                not_null: [event_id, account_id]           # no nulls
                unique: [event_id, [account_id, day]]      # a column (nulls ignored, as dbt's
                                                           # `unique`) or a combination (nulls count)
                accepted_values: {status: [open, closed]}  # nulls pass
                ranges: {score: {min_value: 0, max_value: 10, inclusive: true}}  # nulls pass
                expressions: ["closed_at >= opened_at"]    # true or null on every row
                relationships:                             # each non-null value is in the
                  account_id: {to: ref('accounts'), field: account_id}   # other model
                not_empty: true                            # at least one row
                changed_column: extract_date               # optional, see below

    Why one test per model: each dbt test is a node (Jinja, dbt's events, a query) and an asset
    check with three Dagster events, and the one-rule tests were two thirds of a run's nodes
    (measured at preset M). The row rules are counted in one scan; each uniqueness key
    is one more aggregate, each relationship one anti-join. A test has one severity: rules that
    only warn go in a second table_checks with `config: {severity: warn}`. Each is named in the
    YAML (`name: table_checks_<model>`, `table_warnings_<model>`): the Dagster check's name.

    changed_column: for an incremental model that records its cutoff (pre-hook
    record_increment_cutoff, as for unique_in_increment): the row rules and relationships check
    only the rows the last build wrote (changed_column > its cutoff; every row after a full
    build): the rows already held were checked when they were written, and at M these checks
    read 100 M events in every run. `unique` and `not_empty` still read the whole table (a
    duplicate or an empty table can involve rows of any build). A parent key removed after its
    rows were written is not found by a scoped relationships check until the next full build.

    Fails with one row per broken rule: the rule, what it is about (a column, a key, an
    expression) and how many rows break it (for uniqueness: how many key values are repeated;
    for not_empty: 0, the row count).
-#}
{% test table_checks(model, not_null=[], unique=[], accepted_values={}, ranges={}, expressions=[],
                     relationships={}, not_empty=false, changed_column=none) %}

{%- set cutoff = recorded_increment_cutoff(model) if changed_column is not none else none -%}
{%- set checked = model if cutoff is none else
    "(select * from " ~ model ~ " where " ~ changed_column ~ " > " ~ cutoff ~ ")" -%}

{%- set counted = [] -%}
{%- for column in not_null -%}
    {%- do counted.append(('not_null', column, column ~ ' is null')) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}{%- endfor -%}
    {%- do counted.append(('accepted_values', column, column ~ ' not in (' ~ quoted | join(', ') ~ ')')) -%}
{%- endfor -%}
{%- for column, bounds in ranges.items() -%}
    {%- set inclusive = bounds.get('inclusive', true) -%}
    {%- set outside = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do outside.append(column ~ (' < ' if inclusive else ' <= ') ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do outside.append(column ~ (' > ' if inclusive else ' >= ') ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- do counted.append(('range', column, outside | join(' or ') if outside else 'false')) -%}
{%- endfor -%}
{%- for expression in expressions -%}
    {%- do counted.append(('expression', expression, 'not (' ~ expression ~ ')')) -%}
{%- endfor -%}

{%- set keys = [] -%}
{%- for key in unique -%}
    {%- do keys.append([key] if key is string else key) -%}
{%- endfor -%}

with

row_rules as (
    select
    {%- for rule, subject, broken in counted %}
        count(case when {{ broken }} then 1 end) as broken_{{ loop.index }},
    {%- endfor %}
        count(*) as row_count
    from {{ checked }} as checked
)
{%- if not_empty and cutoff is not none %},

-- the rows the last build wrote may be none: the table is what must not be empty
table_rows as (
    select count(*) as row_count from (select 1 from {{ model }} limit 1) as any_row
)
{%- endif %}

{%- for column, parent in relationships.items() %},

orphans_{{ loop.index }} as (
    select count(*) as broken
    from {{ checked }} as child
    where child.{{ column }} is not null
        and not exists (
            select 1 from {{ parent['to'] }} as parent where parent.{{ parent['field'] }} = child.{{ column }}
        )
)
{%- endfor %}

{%- for key in keys %},

duplicate_keys_{{ loop.index }} as (
    select count(*) as broken
    from (
        select {{ key | join(', ') }}
        from {{ model }}
        {%- if key | length == 1 %}
        where {{ key[0] }} is not null
        {%- endif %}
        group by {{ key | join(', ') }}
        having count(*) > 1
    ) as duplicated
)
{%- endfor %}

{%- set failures = [] -%}
{%- for rule, subject, broken in counted -%}
    {%- do failures.append(
        "select '" ~ rule ~ "' as rule, '" ~ (subject | replace("'", "''")) ~ "' as subject, broken_" ~ loop.index
        ~ " as failing_rows from row_rules where broken_" ~ loop.index ~ " > 0"
    ) -%}
{%- endfor -%}
{%- for key in keys -%}
    {%- do failures.append(
        "select 'unique' as rule, '" ~ (key | join(', ')) ~ "' as subject, broken as failing_rows from duplicate_keys_"
        ~ loop.index ~ " where broken > 0"
    ) -%}
{%- endfor -%}
{%- for column, parent in relationships.items() -%}
    {%- do failures.append(
        "select 'relationships' as rule, '" ~ column ~ " -> " ~ (parent['to'].identifier or parent['to']) ~ "." ~ parent['field']
        ~ "' as subject, broken as failing_rows from orphans_" ~ loop.index ~ " where broken > 0"
    ) -%}
{%- endfor -%}
{%- if not_empty -%}
    {%- do failures.append("select 'not_empty' as rule, '' as subject, row_count as failing_rows from "
                           ~ ("row_rules" if cutoff is none else "table_rows") ~ " where row_count = 0") -%}
{%- endif -%}
{%- do failures.append("select null as rule, null as subject, null as failing_rows from row_rules where false") %}

{{ failures | join('\nunion all\n') }}

{% endtest %}
