{#- One row per response_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on response_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
    full_refresh=rebuild_in_full_without_row_delete(),
    unique_key='response_id',
    on_schema_change='fail',
    pre_hook="{{ record_increment_cutoff('extract_date') }}",
    post_hook="{{ delete_withdrawn_versions(source('survey', 'responses'), 'response_id') }}"
) }}
{%- set cutoff = incremental_cutoff('extract_date') -%}
{%- set columns = [
    'response_id',
    'invitation_id',
    'survey_id',
    'account_id',
    'contact_id',
    'score',
    'comment',
    'responded_at',
] -%}

with

source as (

    {{ incremental_source(source('survey', 'responses'), 'response_id', cutoff) }}

),

typed as (

    select
        response_id,
        invitation_id,
        survey_id,
        account_id,
        contact_id,
        score,
        {{ redact_pii('comment') }} as comment,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ incremental_latest_version(
        relation='typed',
        cutoff=cutoff,
        key='response_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
