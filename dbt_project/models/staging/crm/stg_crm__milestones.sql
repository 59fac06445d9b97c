{#- One row per milestone_id: the latest version (snapshot entity).
    Incremental, like the delta entities (stg_helpdesk__tickets): a run reads only the snapshots
    after incremental_cutoff() (and the older versions of keys withdrawn from them), upserts their
    keys and sets is_current on every row (refresh_is_current). A full rebuild read every weekly
    snapshot ever sent, a cost that grew with history (at M 54 snapshots, 3-4 s every run). -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
    full_refresh=rebuild_in_full_without_row_delete(),
    unique_key='milestone_id',
    on_schema_change='fail',
    pre_hook="{{ record_increment_cutoff('extract_date') }}",
    post_hook=[
        "{{ delete_withdrawn_versions(source('crm', 'milestones'), 'milestone_id') }}",
        "{{ refresh_is_current() }}",
    ]
) }}
{%- set cutoff = incremental_cutoff('extract_date') -%}
{%- set columns = [
    'milestone_id',
    'account_id',
    'milestone_name',
    'sequence',
    'planned_date',
    'completed_date',
    'owner_id',
] -%}

with

source as (

    {{ incremental_source(source('crm', 'milestones'), 'milestone_id', cutoff) }}

),

typed as (

    select
        milestone_id,
        account_id,
        milestone_name,
        sequence,
        planned_date,
        completed_date,
        owner_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ incremental_latest_version(
        relation='typed',
        cutoff=cutoff,
        key='milestone_id',
        columns=columns,
        snapshot=true
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
