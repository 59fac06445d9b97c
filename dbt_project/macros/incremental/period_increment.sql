{#-
    Metric models incremental by period (docs/ARCHITECTURE.md, incremental models): a daily run recomputes only the
    periods that new or changed inputs can reach, not every period of history.

    A model opts in with materialized='incremental', incremental_strategy='append', its day or
    (grain, period_start) columns as partitions (partition_by=partition_columns([...]): what
    period_increment_filter() reads) and a `period_increment` config (a dict, so the model body
    and its hooks read one spec):

      watermarked   inputs with a day and the extract date that last changed the row, e.g.
                    {'model': 'int_usage__user_days', 'day': 'activity_date',
                     'extract': 'last_extract_date'}: a row whose extract date is after the last
                    build's newest minus vars.chw.incremental_lookback_days makes its day dirty
                    (the same lookback as the incremental staging and days models below). The
                    newest is the newest over all the model's watermarked inputs, so a sparse
                    input (stg_product__event_day_moves: a row only when an event moved) is read
                    from the feed's newest extract, not from its own last row
      intervals     small inputs whose rows cover a span of days, snapshotted in a state table at
                    every build and compared with the previous build's snapshot, e.g. the
                    account segments (SCD-2) or subscription coverage:
                    {'name': 'segments', 'model': 'int_calendar__account_segments',
                     'key': ['account_id', 'valid_from'], 'from': 'valid_from', 'to': 'valid_to',
                     'attrs': ['tier', ...]}.
                    A row added, removed or with other attributes makes its days from `from`
                    dirty; a row whose only change is its end (`to`: a new segment version
                    closes the old one, a churned subscription gets an end date) makes its days
                    from the earlier end dirty. Keys must be unique per item.
      grains        the grains the model writes (day, week, month, quarter, rolling)
      reach_days    how many days before a period's last day its value reads, besides the
                    period's own days (rolling windows: the longest window - 1; a 30-vs-30-day
                    change at a period's end: 59)
      day_column    for a model of daily rows without a grain column (grains ['day']): the
                    column holding the row's day; the recomputed periods are then its days

    The calendar's bounds (int_calendar__days) are in the snapshot too: days added at its end
    are dirty (rolling windows end there), and a change of its first day, of the model's code or
    of vars.chw rebuilds everything.

    period_increment() returns, in an incremental run, {'mode': 'periods', 'from_day': date} with
    the first dirty day, or {'mode': 'all'} (no usable snapshot: recompute every period), and
    none in a full build (first run, --full-refresh). With 'periods':
      period_increment_read_from(inc)  the first day the model must read: the coarsest grain's
                                       period start of from_day, or reach_days before from_day
                                       if that is earlier
      period_increment_from_day(inc)   from_day as a date literal (models by day)
      period_increment_filter(inc)     the periods recomputed: day and rolling periods from
                                       from_day, week / month / quarter from the period that
                                       holds it. The pre-hook deletes exactly these and the
                                       model selects exactly these, so periods never reached keep
                                       their rows and no period is written twice
    Pre-hook: period_increment_delete() (those periods removed:
    macros/incremental/engine_writes.sql); post-hook: period_increment_save() (the snapshot, in
    `intermediate.<model>__increment_state`). On DuckDB both run in the model's transaction: a killed build leaves the previous rows and the
    previous snapshot. Spark has no transactions: a build killed after the pre-hook leaves those
    periods empty and the previous snapshot, so the next build recomputes them (its first dirty
    day is the same or earlier).

    Cost: the dirty-day and snapshot queries read indexed extract dates and a few thousand
    interval rows; a daily run then reads the current quarter or reach_days of observations,
    whichever reaches further back, whatever the history length.
-#}

{% macro period_increment_spec() -%}
    {%- set spec = config.get('period_increment') -%}
    {%- if spec is none -%}
        {{ exceptions.raise_compiler_error("period_increment: model " ~ this ~ " has no period_increment config") }}
    {%- endif -%}
    {{ return(spec) }}
{%- endmacro %}

{#- In the bookkeeping schema (macros/incremental/increment_cutoff.sql), whatever the model's: a
    mart's snapshot must not be published with the marts (serving file, Parquet export). -#}
{% macro period_increment_state_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=bookkeeping_schema(),
                                  identifier=this.identifier ~ '__increment_state', type='table')) }}
{%- endmacro %}

{#- the digest of what every stored period depends on besides the data: model code and vars.chw -#}
{% macro period_increment_config_digest(spec) -%}
    {{ return(local_md5(model.get('raw_code', '') ~ '|' ~ tojson(var('chw')) ~ '|' ~ tojson(spec))) }}
{%- endmacro %}

{#- The snapshot rows of this build: intervals, calendar bounds, watermarks, config digest. -#}
{% macro period_increment_snapshot_sql(spec) -%}
    {%- set string = dbt.type_string() -%}
    {%- set parts = [] -%}
    {%- for item in spec.get('intervals', []) -%}
        {%- set key_parts = [] -%}
        {%- for k in item['key'] -%}
            {%- do key_parts.append("coalesce(cast(" ~ k ~ " as " ~ string ~ "), '~')") -%}
        {%- endfor -%}
        {%- set attr_parts = ["''"] -%}
        {%- for a in item.get('attrs', []) -%}
            {%- do attr_parts.append("coalesce(cast(" ~ a ~ " as " ~ string ~ "), '~')") -%}
        {%- endfor -%}
        {%- do parts.append(
            "select '" ~ item['name'] ~ "' as item, "
            ~ (key_parts | join(" || '|' || ")) ~ " as item_key, "
            ~ "cast(" ~ item['from'] ~ " as date) as valid_from, "
            ~ "cast(" ~ item['to'] ~ " as date) as valid_to, "
            ~ (attr_parts | join(" || '|' || ")) ~ " as attrs "
            ~ "from " ~ ref(item['model'])
            ~ (" where " ~ item['where'] if item.get('where') else "")
        ) -%}
    {%- endfor -%}
    {%- do parts.append(
        "select '_calendar' as item, '' as item_key, min(date_day) as valid_from, max(date_day) as valid_to, "
        ~ "'' as attrs from " ~ ref('int_calendar__days')
    ) -%}
    {#- one watermark, the newest extract over all watermarked inputs (see the doc above): a full
        build and an incremental one store the same, whatever a sparse input holds -#}
    {%- set newest = [] -%}
    {%- for w in spec.get('watermarked', []) -%}
        {%- do newest.append("select max(" ~ w['extract'] ~ ") as newest from " ~ ref(w['model'])) -%}
    {%- endfor -%}
    {%- if newest -%}
        {%- do parts.append(
            "select '_watermark', '', (select cast(max(newest) as date) from ("
            ~ newest | join(" union all ") ~ ") as inputs), cast(null as date), ''"
        ) -%}
    {%- endif -%}
    {%- do parts.append(
        "select '_config', '', cast(null as date), cast(null as date), '"
        ~ period_increment_config_digest(spec) ~ "'"
    ) -%}
    {{ return(parts | join("\nunion all\n")) }}
{%- endmacro %}

{% macro period_increment() -%}
    {#- a dbt unit test renders the model without a relation of its own (`this` is none) -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set spec = period_increment_spec() -%}
    {%- set state = period_increment_state_relation() -%}
    {%- if adapter.get_relation(database=state.database, schema=state.schema, identifier=state.identifier) is none -%}
        {{ return({'mode': 'all', 'reason': 'no snapshot of a previous build'}) }}
    {%- endif -%}
    {%- set digest = run_query("select max(attrs) from " ~ state ~ " where item = '_config'").columns[0].values()[0] -%}
    {%- if digest != period_increment_config_digest(spec) -%}
        {{ return({'mode': 'all', 'reason': 'model code or vars.chw changed'}) }}
    {%- endif -%}
    {%- set lookback = incremental_lookback_days() -%}
    {%- set candidates = [] -%}
    {#- watermarked inputs: days of rows changed by an extract after the last build's newest - lookback -#}
    {%- for w in spec.get('watermarked', []) -%}
        {%- do candidates.append(
            "select min(" ~ w['day'] ~ ") from " ~ ref(w['model'])
            ~ " where " ~ w['extract'] ~ " > (select " ~ dbt.dateadd('day', -lookback, 'max(valid_from)')
            ~ " from " ~ state ~ " where item = '_watermark')"
        ) -%}
    {%- endfor -%}
    {#- intervals and calendar: this build's snapshot against the stored one -#}
    {%- do candidates.append(
        "select min(case "
        ~ "when old.item_key is null then new.valid_from "
        ~ "when new.item_key is null then old.valid_from "
        ~ "when new.attrs = old.attrs and new.valid_from = old.valid_from then "
        ~ "least(coalesce(new.valid_to, cast('9999-12-31' as date)), coalesce(old.valid_to, cast('9999-12-31' as date))) "
        ~ "else least(new.valid_from, old.valid_from) end) "
        ~ "from (" ~ period_increment_snapshot_sql(spec) ~ ") as new "
        ~ "full outer join (select * from " ~ state ~ ") as old "
        ~ "on new.item = old.item and new.item_key = old.item_key "
        ~ "where coalesce(new.item, old.item) not in ('_calendar', '_watermark', '_config') "
        ~ "and (new.item_key is null or old.item_key is null or new.attrs <> old.attrs "
        ~ "or new.valid_from is distinct from old.valid_from or new.valid_to is distinct from old.valid_to)"
    ) -%}
    {%- set bounds = run_query(
        "select cast(old.valid_from as " ~ dbt.type_string() ~ "), cast(old.valid_to as " ~ dbt.type_string() ~ "), "
        ~ "cast(new.first_day as " ~ dbt.type_string() ~ "), cast(new.last_day as " ~ dbt.type_string() ~ ") "
        ~ "from (select valid_from, valid_to from " ~ state ~ " where item = '_calendar') as old "
        ~ "cross join (select min(date_day) as first_day, max(date_day) as last_day from " ~ ref('int_calendar__days') ~ ") as new"
    ).rows[0] -%}
    {%- if bounds[0] != bounds[2] -%}
        {{ return({'mode': 'all', 'reason': 'the calendar starts on another day'}) }}
    {%- endif -%}
    {%- set day = modules.datetime.date.fromisoformat -%}
    {%- set found = [] -%}
    {%- if bounds[1] != bounds[3] and bounds[1] is not none and bounds[3] is not none -%}
        {#- days added at the calendar's end: windows and running periods end there -#}
        {%- do found.append([day(bounds[1][:10]), day(bounds[3][:10])] | min + modules.datetime.timedelta(days=1)) -%}
    {%- endif -%}
    {%- set result = run_query(
        "select cast(min(d) as " ~ dbt.type_string() ~ ") from ("
        ~ candidates | join("\nunion all\n") ~ ") as dirty(d)"
    ) -%}
    {%- set first_dirty = result.columns[0].values()[0] -%}
    {%- if first_dirty is not none -%}
        {%- do found.append(day(first_dirty[:10])) -%}
    {%- endif -%}
    {%- if found | length == 0 -%}
        {#- nothing changed: the day after the calendar, so no stored period is touched -#}
        {%- do found.append(day(bounds[3][:10]) + modules.datetime.timedelta(days=1)) -%}
    {%- endif -%}
    {%- set from_day = found | min -%}
    {{ return({'mode': 'periods', 'from_day': from_day}) }}
{%- endmacro %}

{#- The first day of the period of `grain` that holds `d` (a date; weeks start on Monday). -#}
{% macro period_increment_trunc(grain, d) -%}
    {%- if grain == 'week' -%}
        {{ return(d - modules.datetime.timedelta(days=d.weekday())) }}
    {%- elif grain == 'month' -%}
        {{ return(d.replace(day=1)) }}
    {%- elif grain == 'quarter' -%}
        {{ return(d.replace(month=((d.month - 1) // 3) * 3 + 1, day=1)) }}
    {%- else -%}
        {{ return(d) }}
    {%- endif -%}
{%- endmacro %}

{% macro period_increment_date(d) -%}
    cast('{{ d.strftime('%Y-%m-%d') }}' as date)
{%- endmacro %}

{#- none (read everything) unless only some periods are recomputed -#}
{% macro period_increment_read_from(inc) -%}
    {%- if inc is none or inc['mode'] != 'periods' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set spec = period_increment_spec() -%}
    {%- set reach = modules.datetime.timedelta(days=spec.get('reach_days', 0) | int) -%}
    {%- set firsts = [] -%}
    {%- for grain in spec['grains'] -%}
        {#- a recomputed period reads its own days and reach_days before its last day. That last
            day is from_day or later for a day (or rolling window end), and at least the day
            before from_day for a week, month or quarter (a running period ends at the calendar's
            last day, and from_day is the day after it when nothing changed). Reading from the
            coarsest period's start minus reach_days instead read up to a quarter more at every
            daily run (int_usage__metric_values at preset M) -#}
        {%- set last_day = inc['from_day'] if grain in ('day', 'rolling') else inc['from_day'] - modules.datetime.timedelta(days=1) -%}
        {%- do firsts.append([period_increment_trunc(grain, inc['from_day']), last_day - reach] | min) -%}
    {%- endfor -%}
    {{ return(period_increment_date(firsts | min)) }}
{%- endmacro %}

{#- none unless only some periods are recomputed; then the first recomputed day, a date literal
    (models by day filter the rows they write and what reaches them with it) -#}
{% macro period_increment_from_day(inc) -%}
    {%- if inc is none or inc['mode'] != 'periods' -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(period_increment_date(inc['from_day']) | trim) }}
{%- endmacro %}

{% macro period_increment_filter(inc, grain_column='grain', start_column='period_start') -%}
    {%- if inc is none or inc['mode'] != 'periods' -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set spec = period_increment_spec() -%}
    {%- if spec.get('day_column') -%}
        {{ return("(" ~ spec['day_column'] ~ " >= " ~ period_increment_date(inc['from_day']) ~ ")") }}
    {%- endif -%}
    {%- set terms = [] -%}
    {%- for grain in spec['grains'] -%}
        {%- do terms.append("(" ~ grain_column ~ " = '" ~ grain ~ "' and " ~ start_column ~ " >= "
                            ~ period_increment_date(period_increment_trunc(grain, inc['from_day'])) ~ ")") -%}
    {%- endfor -%}
    {{ return("(" ~ terms | join(" or ") ~ ")") }}
{%- endmacro %}

{#- Pre-hook: removes the periods this build recomputes (delete_partitions: DuckDB deletes their
    rows, Spark drops their partitions, macros/incremental/engine_writes.sql); the model then
    appends them. -#}
{% macro period_increment_delete() -%}
    {%- set inc = period_increment() -%}
    {%- if inc is none -%}
        select 1
    {%- elif inc['mode'] == 'all' -%}
        {%- do log("period_increment " ~ this.identifier ~ ": recomputing every period (" ~ inc['reason'] ~ ")", info=true) -%}
        {{ delete_partitions('true') }}
    {%- else -%}
        {%- do log("period_increment " ~ this.identifier ~ ": recomputing periods from " ~ inc['from_day'], info=true) -%}
        {{ delete_partitions(period_increment_filter(inc)) }}
    {%- endif -%}
{%- endmacro %}

{% macro period_increment_save() -%}
    {%- if execute -%}
        {{ replace_table_as(period_increment_state_relation(), period_increment_snapshot_sql(period_increment_spec())) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The interval inputs several metric models share, by name: 'segments' (the account's segment
    attributes, SCD-2), 'subscriptions' (which days an account is covered), 'core_features' (the
    core feature catalogue: a change recomputes everything), and for the health score's daily
    inputs (their rows are the active days of int_health__account_days): 'known_subscriptions'
    (the days a subscription covers once known, and its seats) and 'latest_extract' (its end:
    the days the latest extract date adds, or takes away when it moves back). -#}
{% macro period_increment_intervals(names) -%}
    {%- set known = {
        'segments': {'name': 'segments', 'model': 'int_calendar__account_segments', 'key': ['account_id', 'valid_from'],
                     'from': 'valid_from', 'to': 'valid_to', 'attrs': var('chw')['segments']['account']},
        'subscriptions': {'name': 'subscriptions', 'model': 'int_revenue__subscriptions_converted',
                          'key': ['subscription_id'], 'from': 'start_date', 'to': 'end_date', 'attrs': ['account_id']},
        'core_features': {'name': 'core_features', 'model': 'stg_product__features', 'key': ['feature_key'],
                          'from': "'1900-01-01'", 'to': 'null', 'attrs': [], 'where': 'is_current and is_core'},
        'known_subscriptions': {'name': 'known_subscriptions', 'model': 'stg_crm__subscriptions',
                                'key': ['subscription_id'], 'from': 'greatest(start_date, first_extract_date)',
                                'to': 'end_date', 'attrs': ['account_id', 'seats']},
        'latest_extract': {'name': 'latest_extract', 'model': 'int_health__extract_bounds', 'key': ["'latest'"],
                           'from': dbt.dateadd('day', 1, 'latest_extract_date'), 'to': 'null', 'attrs': []},
    } -%}
    {%- set picked = [] -%}
    {%- for name in names -%}
        {%- do picked.append(known[name]) -%}
    {%- endfor -%}
    {{ return(picked) }}
{%- endmacro %}
