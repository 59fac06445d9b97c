{#- One row per response_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on response_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy=upsert_strategy(),
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
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(invitation_id as {{ dbt.type_string() }}) as invitation_id,
        cast(survey_id as {{ dbt.type_string() }}) as survey_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(score as {{ type_double() }}) as score,
        cast({{ redact_pii('comment') }} as {{ dbt.type_string() }}) as comment,
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
