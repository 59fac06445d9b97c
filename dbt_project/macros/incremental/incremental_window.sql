{#-
    Incremental runs whose cost follows the new data (docs/ARCHITECTURE.md, incremental models).

    incremental_lookback_days()
        vars.chw.incremental_lookback_days (default 7): how many extract dates before the
        newest one already built an incremental run reads again, so that a re-ingested or
        late-arriving extract folder within that window is picked up without a full refresh.

    incremental_cutoff(column, relation=none)
        In an incremental run: a date literal, max(`column`) of the model's existing table
        (or of `relation`: the cutoff another model's run will use) minus the lookback; rows
        with an extract date after it are (re)processed. The max is
        read once when the model is compiled for execution (a plain `run_query`), so the
        predicate the engine sees is a constant: DuckDB prunes Parquet row groups of the raw
        layer and zone maps of warehouse tables with it, other engines their partitions.
        Returns none in a full build (first run, --full-refresh), when the table is empty or
        lacks `column` (built by an older version of the model): the caller then reads
        everything and replaces every key / day it holds.
-#}
{% macro incremental_lookback_days() -%}
    {{ return(var('chw').get('incremental_lookback_days', 7) | int) }}
{%- endmacro %}

{% macro incremental_cutoff(column, relation=none) -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = relation if relation is not none else this -%}
    {#- a table built before `column` existed (an older version of the model): rebuild its rows -#}
    {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if column | lower not in existing -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query('select max(' ~ column ~ ') from ' ~ relation) -%}
    {%- set newest = result.columns[0].values()[0] if result.rows | length > 0 else none -%}
    {%- if newest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if newest is string -%}
        {%- set newest = modules.datetime.date.fromisoformat(newest[:10]) -%}
    {%- endif -%}
    {%- set cutoff = newest - modules.datetime.timedelta(days=incremental_lookback_days()) -%}
    {{ return("cast('" ~ cutoff.strftime('%Y-%m-%d') ~ "' as date)") }}
{%- endmacro %}

{#-
    incremental_first_touched(relation, day_expr, extract_column, cutoff)
        In an incremental run: a date literal, the first day (`day_expr`) among the rows of
        `relation` changed after `cutoff`, or none. The models that recompute whole days filter
        their (large) input with `day >= <that literal>` besides joining it to the touched days:
        a constant the engine prunes row groups with (DuckDB zone maps; events arrive in
        roughly day order), where the join alone reads every row of history. The days that
        lost a re-sent event (event_days_moved_after) count as touched.

    incremental_touched_days(relation, day_expr, extract_column, cutoff, name)
        The select of the days (as column `name`) such a model recomputes: the days (`day_expr`)
        of the rows of `relation` changed after `cutoff`, and the days re-sent events left
        (event_days_moved_after). The same days incremental_first_touched starts from.

    event_days_moved_after(cutoff)
        A select of `event_date`: the days that lost an event to another day in an extract after
        `cutoff` (stg_product__event_day_moves). The models incremental by event day recompute
        them besides the days of changed rows: a re-sent event's new day is among those, its old
        day is not. A model calling these names stg_product__event_day_moves in a depends_on
        comment (dbt does not see a ref() rendered only at run time).
-#}
{% macro incremental_touched_days(relation, day_expr, extract_column, cutoff, name) -%}
    select distinct {{ day_expr }} as {{ name }}
    from {{ relation }}
    where {{ extract_column }} > {{ cutoff }}

    union

    -- the days a re-sent event left for another day (they hold no changed row)
    select event_date from ({{ event_days_moved_after(cutoff) }}) as moved
{%- endmacro %}

{% macro event_days_moved_after(cutoff) -%}
    select event_date from {{ ref('stg_product__event_day_moves') }} where extract_date > {{ cutoff }}
{%- endmacro %}

{% macro incremental_first_touched(relation, day_expr, extract_column, cutoff) -%}
    {%- if cutoff is none or not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select cast(min(day) as " ~ dbt.type_string() ~ ") from ("
        ~ "select min(" ~ day_expr ~ ") as day from " ~ relation ~ " where " ~ extract_column ~ " > " ~ cutoff
        ~ " union all select min(event_date) from (" ~ event_days_moved_after(cutoff) ~ ") as moved) as touched"
    ) -%}
    {%- set first = result.columns[0].values()[0] if result.rows | length > 0 else none -%}
    {{ return(none if first is none else "cast('" ~ first[:10] ~ "' as date)") }}
{%- endmacro %}
