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
        cast(invitation_id as {{ dbt.type_string() }}) as invitation_id,
        cast(survey_id as {{ dbt.type_string() }}) as survey_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(trigger_ref_type as {{ dbt.type_string() }}) as trigger_ref_type,
        cast(trigger_ref_id as {{ dbt.type_string() }}) as trigger_ref_id,
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
