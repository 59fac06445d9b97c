{#-
    One row per (entity, extract date) held back by the blocking Dagster checks
    `quarantine_share` (every entity) and `scale_consistency` (survey responses)
    (orchestration/defs/ingest/assets.py): more than vars.chw.quarantine_block_pct of the
    extract's rows were invalid. Exact duplicate rows (a file sent twice) and versions superseded
    in the same extract by a later updated_at are quarantined but are not invalid: they leave both
    sides of the share (audit.quarantine names them by the reason ingest gives them,
    orchestration/lib/ingest/validate.py EXACT_DUPLICATE, SUPERSEDED). Same rule, same
    numbers as the checks, so it holds however the transform was started: after a failed
    single-day ingest run (the schedule still rebuilds the marts daily) or after `make run` over
    every extract date in one backfill run. account_health withholds that day's scores.
-#}
{%- set limit = var('chw')['quarantine_block_pct'] -%}

with

load_log as (

    select * from {{ ref('load_log') }}

),

quarantine as (

    select * from {{ ref('quarantine') }}

),

duplicates as (

    select
        source,
        entity,
        extract_date,
        count(*) as rows_duplicate
    from quarantine
    where reason like 'exact duplicate %' or reason like 'superseded version %'
    group by source, entity, extract_date

),

per_extract as (

    select
        source,
        entity,
        extract_date,
        sum(rows_quarantined) as rows_quarantined,
        sum(rows_loaded) as rows_loaded
    from load_log
    group by source, entity, extract_date

),

invalid as (

    select
        per_extract.source,
        per_extract.entity,
        per_extract.extract_date,
        per_extract.rows_quarantined - coalesce(duplicates.rows_duplicate, 0) as rows_quarantined,
        per_extract.rows_loaded + per_extract.rows_quarantined - coalesce(duplicates.rows_duplicate, 0) as rows_checked
    from per_extract
    left join duplicates
        on per_extract.source = duplicates.source
        and per_extract.entity = duplicates.entity
        and per_extract.extract_date = duplicates.extract_date

),

final as (

    select
        cast(source as {{ dbt.type_string() }}) as source,
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(extract_date as date) as extract_date,
        cast(rows_quarantined as {{ dbt.type_bigint() }}) as rows_quarantined,
        cast(rows_checked as {{ dbt.type_bigint() }}) as rows_checked,
        cast(cast(100 as double) * rows_quarantined / rows_checked as {{ type_double() }}) as quarantined_pct
    from invalid
    where rows_checked > 0
        and cast(100 as double) * rows_quarantined / rows_checked > {{ limit }}

)

select * from final
