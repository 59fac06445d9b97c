{#-
    One row per survey response whose survey is known and whose score lies on the survey's
    declared scale (as declared when the response was given: stg_survey__surveys_history),
    with its scores normalized:
      csat  is_satisfied = top-two box of the declared scale (4-5 on 1-5, 6-7 on 1-7);
            csat_score_norm = (score - scale_min) / (scale_max - scale_min), 0-1
      nps   nps_class promoter (9-10), passive (7-8), detractor (0-6); nps_score +1 / 0 / -1
      ces   ces_effort on the 1 = least effort scale: higher_is_better surveys are mirrored
            (scale_min + scale_max - score, i.e. 8 - score on 1-7)
      acsi  index_item (satisfaction, expectations, ideal) and acsi_item_score, the item
            rescaled to 0-100: (score - scale_min) / (scale_max - scale_min) * 100, i.e.
            (score - 1) / 9 * 100 on the declared 1-10 (int_survey__acsi_respondents combines
            a respondent's three items)
    touchpoint is the survey's trigger (ticket_solved, onboarding_milestone, relationship,
    feature_adoption, release). Responses outside their scale or to unknown surveys are
    scale-consistency failures reported upstream and are left out here.
-#}
with

responses as (

    select * from {{ ref('stg_survey__responses') }}

),

surveys as (

    select * from {{ ref('stg_survey__surveys') }}

),

surveys_history as (

    select * from {{ ref('stg_survey__surveys_history') }}

),

-- the first declared version also covers responses older than the survey's first extract
scale_versions as (

    select
        survey_id,
        metric,
        scale_min,
        scale_max,
        coalesce(higher_is_better, false) as higher_is_better,
        case
            when row_number() over (partition by survey_id order by valid_from) = 1
                then cast('1900-01-01' as date)
            else valid_from
        end as valid_from,
        valid_to
    from surveys_history

),

responses_with_scale as (

    select
        responses.response_id,
        responses.invitation_id,
        responses.survey_id,
        responses.account_id,
        responses.contact_id,
        responses.score,
        responses.responded_at,
        {{ metric_day('responses.responded_at') }} as response_date,
        responses.extract_date,
        responses.first_extract_date,
        scale_versions.metric as survey_metric,
        scale_versions.scale_min,
        scale_versions.scale_max,
        scale_versions.higher_is_better,
        surveys.trigger as touchpoint,
        surveys.channel,
        surveys.owner_team,
        surveys.index_item
    from responses
    inner join scale_versions
        on responses.survey_id = scale_versions.survey_id
        and {{ metric_day('responses.responded_at') }} >= scale_versions.valid_from
        and (
            scale_versions.valid_to is null
            or {{ metric_day('responses.responded_at') }} < scale_versions.valid_to
        )
    left join surveys
        on responses.survey_id = surveys.survey_id
    where
        responses.score >= scale_versions.scale_min
        and responses.score <= scale_versions.scale_max

),

final as (

    select
        *,
        case
            when survey_metric = 'csat' then score >= scale_max - 1
        end as is_satisfied,
        case
            when survey_metric = 'csat' and scale_max > scale_min
                then cast(score - scale_min as {{ type_double() }}) / (scale_max - scale_min)
        end as csat_score_norm,
        case
            when survey_metric <> 'nps' then cast(null as {{ dbt.type_string() }})
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_class,
        case
            when survey_metric <> 'nps' then cast(null as {{ type_double() }})
            when score >= 9 then cast(1 as double)
            when score >= 7 then cast(0 as double)
            else -cast(1 as double)
        end as nps_score,
        case
            when survey_metric <> 'ces' then cast(null as {{ type_double() }})
            when higher_is_better then cast(scale_min + scale_max - score as {{ type_double() }})
            else cast(score as {{ type_double() }})
        end as ces_effort,
        case
            when survey_metric = 'acsi' and scale_max > scale_min
                then 100 * cast(score - scale_min as {{ type_double() }}) / (scale_max - scale_min)
        end as acsi_item_score
    from responses_with_scale

)

select * from final
