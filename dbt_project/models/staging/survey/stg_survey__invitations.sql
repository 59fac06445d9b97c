{#- One row per invitation_id: the latest version (delta entity). -#}
{%- set columns = [
    'invitation_id',
    'survey_id',
    'account_id',
    'contact_id',
    'sent_at',
    'trigger_ref_type',
    'trigger_ref_id',
] -%}

with

source as (

    select * from {{ source('survey', 'invitations') }}

),

typed as (

    select
        invitation_id,
        survey_id,
        account_id,
        contact_id,
        -- raw holds the contract types; Spark reads its zone-less timestamps as timestamp_ntz, hence the cast
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        trigger_ref_type,
        trigger_ref_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

deduplicated as (

    {{ latest_version(
        relation='typed',
        key='invitation_id',
        columns=columns
    ) }}

),

final as (

    select * from deduplicated

)

select * from final
