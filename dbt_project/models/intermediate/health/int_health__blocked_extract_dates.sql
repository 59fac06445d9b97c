{#-
    One row per survey-responses extract date held back by the blocking Dagster check
    `scale_consistency` (orchestration/defs/ingest/assets.py): more than
    vars.chw.quarantine_block_pct of the extract's rows were quarantined. Same rule, same
    numbers (audit.load_log), so it holds however the transform was started: after a failed
    single-day ingest run (the schedule still rebuilds the marts daily) or after `make run`
    over every extract date in one backfill run. account_health withholds that day's scores.
-#}
{%- set limit = var('chw')['quarantine_block_pct'] -%}

with

load_log as (

    select * from {{ ref('load_log') }}

),

per_extract as (

    select
        extract_date,
        sum(rows_quarantined) as rows_quarantined,
        sum(rows_loaded) + sum(rows_quarantined) as rows_checked
    from load_log
    where source = 'survey' and entity = 'responses'
    group by extract_date

),

final as (

    select
        cast(extract_date as date) as extract_date,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(rows_checked as {{ dbt.type_bigint() }}) as rows_checked,
        cast(100.0 * rows_quarantined / rows_checked as {{ type_double() }}) as quarantined_pct
    from per_extract
    where rows_checked > 0
        and 100.0 * rows_quarantined / rows_checked > {{ limit }}

)

select * from final
