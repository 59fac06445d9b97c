{#-
    One row per ACSI respondent (docs/metrics.md, acsi_index): one person's answers to the three `acsi`
    items of the satisfaction index (index_item satisfaction, expectations, ideal).

    Who is one respondent: the answers that share an invitation_id; answers without one, those of
    the same contact and account on the same (UTC) day of responded_at. An answer with neither an
    invitation nor a contact cannot be matched to others and is a respondent of its own. An item
    answered twice by one respondent counts its latest answer (responded_at, then response_id).

    Each item is rescaled to 0-100 upstream (acsi_item_score: (score - 1) / 9 * 100 on 1-10).
    acsi_index is the weighted mean of the three (vars.chw.metrics.acsi_item_weights, equal by
    default), and only for a respondent with all three items: a missing item is never guessed
    (is_complete false, acsi_index null; int_survey__metric_values counts these respondents as
    acsi_incomplete_respondents). response_date is the day of the respondent's first answer (the
    period it counts in); touchpoint and channel are those of its items' surveys where they agree
    (null otherwise: left out of that segment only).
-#}
{%- set weights = var('chw')['metrics']['acsi_item_weights'] -%}
{%- set items = ['satisfaction', 'expectations', 'ideal'] -%}
{%- set ns = namespace(total_weight=0) -%}
{%- for item in items -%}
{%- set ns.total_weight = ns.total_weight + (weights[item] | float) -%}
{%- endfor -%}
{%- set total_weight = ns.total_weight -%}
{%- if total_weight <= 0 -%}
    {{ exceptions.raise_compiler_error("vars.chw.metrics.acsi_item_weights must give " ~ items ~ " weights summing above 0, got " ~ weights) }}
{%- endif -%}
{%- set string = dbt.type_string() -%}

with

responses as (

    select * from {{ ref('int_survey__responses_normalized') }}

),

acsi_answers as (

    select
        response_id,
        case
            when invitation_id is not null
                then {{ dbt.concat(["'invitation|'", 'invitation_id']) }}
            when contact_id is not null
                then {{ dbt.concat(["'contact_day|'", 'contact_id', "'|'", "coalesce(account_id, '')", "'|'", 'cast(response_date as ' ~ string ~ ')']) }}
            else {{ dbt.concat(["'response|'", 'response_id']) }}
        end as respondent_key,
        invitation_id,
        account_id,
        contact_id,
        index_item,
        acsi_item_score,
        responded_at,
        response_date,
        touchpoint,
        channel
    from responses
    where
        survey_metric = 'acsi'
        and index_item in ('{{ items | join("', '") }}')

),

-- an item answered twice: its latest answer
latest_answers as (

    select *
    from (
        select
            *,
            row_number() over (
                partition by respondent_key, index_item
                order by responded_at desc, response_id desc
            ) as item_rank
        from acsi_answers
    ) as ranked
    where item_rank = 1

),

respondents as (

    select
        respondent_key,
        min(invitation_id) as invitation_id,
        min(account_id) as account_id,
        min(contact_id) as contact_id,
        min(responded_at) as first_responded_at,
        min(response_date) as response_date,
        case when min(touchpoint) = max(touchpoint) and count(touchpoint) = count(*) then min(touchpoint) end as touchpoint,
        case when min(channel) = max(channel) and count(channel) = count(*) then min(channel) end as channel,
        {%- for item in items %}
        max(case when index_item = '{{ item }}' then acsi_item_score end) as {{ item }}_score,
        {%- endfor %}
        cast(count(*) as {{ dbt.type_bigint() }}) as items_answered
    from latest_answers
    group by respondent_key

),

final as (

    select
        respondent_key,
        invitation_id,
        account_id,
        contact_id,
        first_responded_at,
        response_date,
        touchpoint,
        channel,
        {%- for item in items %}
        {{ item }}_score,
        {%- endfor %}
        items_answered,
        items_answered = {{ items | length }} as is_complete,
        case
            when items_answered = {{ items | length }} then (
                {%- for item in items %}
                {{ weights[item] | float }} * {{ item }}_score{{ ' +' if not loop.last }}
                {%- endfor %}
            ) / cast({{ total_weight }} as {{ type_double() }})
        end as acsi_index
    from respondents

)

select * from final
