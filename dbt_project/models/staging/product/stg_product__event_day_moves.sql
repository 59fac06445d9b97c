{#-
    The days that lost an event to another day: one row per (event_date, extract_date) where an
    event counted on event_date (in stg_product__events before this run) arrived again in the
    extract of extract_date with its occurred_at on another day. Also the days an event withdrawn
    from the extract of extract_date leaves, and those of its older versions, which
    stg_product__events falls back to (macros/staging/latest_version.sql: incremental_source).

    Why: the usage models recompute the days touched by changed events (incremental by day), and
    a re-sent event touches its new day only; its old day kept counting it until a full refresh.
    They read this table as more touched days (macros/incremental/incremental_window.sql).

    It must see stg_product__events as the previous run left it, so it runs before that model
    (which names it in a depends_on comment) and reads it by name, not by ref(). Incremental
    (append): each run adds the moves among the raw extracts that stg_product__events is about to
    read (its cutoff: the newest extract built minus the lookback); a pair already recorded is not
    added twice, and old pairs stay, harmless (readers take only those after their own cutoff).
    A full build holds no rows: the models reading it rebuild every day then. Cost: the new
    extracts' event ids joined to the staged events, in runs that have a previous build.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail'
) }}
{%- set events = adapter.get_relation(database=this.database, schema=this.schema, identifier='stg_product__events') if execute else none -%}
{%- set cutoff = incremental_cutoff('extract_date', relation=events) if events is not none else none -%}
{%- set withdrawn = count_withdrawn_keys(source('product', 'events'), 'event_id', cutoff, staged=events) -%}

with

{%- if cutoff is not none %}

new_versions as (

    select
        event_id,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        _extract_date
    from {{ source('product', 'events') }}
    where _extract_date > {{ cutoff }}

),

moves as (

    select distinct
        {{ metric_day('staged.occurred_at') }} as event_date,
        new_versions._extract_date as extract_date
    from new_versions
    inner join {{ events }} as staged
        on staged.event_id = new_versions.event_id
    where {{ metric_day('staged.occurred_at') }} <> {{ metric_day('new_versions.occurred_at') }}

),

{%- if withdrawn > 0 %}

-- events withdrawn from an extract after the cutoff (incremental_source): stg_product__events
-- falls back to their older version or drops them, so the day they leave and the days of their
-- older versions change. Usually none: then this is left out (one count, not a plan over history).
withdrawn as (

    select staged.event_id, staged.occurred_at, staged.extract_date
    from {{ events }} as staged
    where staged.extract_date > {{ cutoff }}
        and staged.event_id in ({{ withdrawn_keys(source('product', 'events'), 'event_id', cutoff, staged=events) }})

),

withdrawn_days as (

    select {{ metric_day('withdrawn.occurred_at') }} as event_date, withdrawn.extract_date
    from withdrawn

    union

    select {{ metric_day('older.occurred_at') }} as event_date, withdrawn.extract_date
    from {{ source('product', 'events') }} as older
    inner join withdrawn
        on older.event_id = withdrawn.event_id
    where older._extract_date <= {{ cutoff }}

),

{%- endif %}

changed_days as (

    select event_date, extract_date from moves
    {%- if withdrawn > 0 %}
    union
    select event_date, extract_date from withdrawn_days
    {%- endif %}

),

final as (

    select changed_days.event_date, changed_days.extract_date
    from changed_days
    left join {{ this }} as recorded
        on recorded.event_date = changed_days.event_date
        and recorded.extract_date = changed_days.extract_date
    where recorded.event_date is null

)

{%- else %}

final as (

    select
        cast(null as date) as event_date,
        cast(null as date) as extract_date
    where 1 = 0

)

{%- endif %}

select * from final
