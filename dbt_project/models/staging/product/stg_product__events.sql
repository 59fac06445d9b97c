{#- One row per event_id: the latest version (delta entity).
    Incremental: a run reads only the raw extracts after incremental_cutoff() (and the older
    versions of keys withdrawn from them) and upserts their keys (delete+insert on event_id);
    see macros/staging/latest_version.sql. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_id',
    on_schema_change='fail',
    pre_hook="{{ record_increment_cutoff('extract_date') }}",
    post_hook="{{ delete_withdrawn_versions(source('product', 'events'), 'event_id') }}"
) }}
{%- set cutoff = incremental_cutoff('extract_date') -%}
{%- set columns = [
    'event_id',
    'account_id',
    'user_id',
    'event_name',
    'occurred_at',
    'properties',
] -%}
-- runs after the model that records which days re-sent events leave (it reads this table as it was):
-- depends_on: {{ ref('stg_product__event_day_moves') }}

with

source as (

    {{ incremental_source(source('product', 'events'), 'event_id', cutoff) }}

),

typed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(properties as {{ dbt.type_string() }}) as properties,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ incremental_latest_version(
        relation='typed',
        cutoff=cutoff,
        key='event_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
