{#-
    SCD-2 history of survey definitions (metric and declared scale) from the sequence of survey
    snapshots: a new version only when metric, scale_min, scale_max or higher_is_better changes.
    valid_from is the extract date of the change (the first version: the survey's first
    extract), valid_to the next version's valid_from (exclusive), null while current. More than
    one version means the declared scale changed: a scale-consistency failure to report.
-#}
with

source as (

    select * from {{ source('survey', 'surveys') }}

),

typed as (

    select
        survey_id,
        metric,
        scale_min,
        scale_max,
        higher_is_better,
        _extract_date,
        _source_file,
        _row_number
    from source

),

-- one row per survey and extract (the last record when an extract repeats a survey)
per_extract as (

    select
        survey_id,
        metric,
        scale_min,
        scale_max,
        higher_is_better,
        _extract_date as extract_date
    from (
        select
            *,
            row_number() over (
                partition by survey_id, _extract_date
                order by _source_file desc, _row_number desc
            ) as _extract_rank
        from typed
    ) as ranked
    where _extract_rank = 1

),

sequenced as (

    select
        *,
        lag(extract_date) over (partition by survey_id order by extract_date) as previous_extract_date,
        lag(metric) over (partition by survey_id order by extract_date) as previous_metric,
        lag(scale_min) over (partition by survey_id order by extract_date) as previous_scale_min,
        lag(scale_max) over (partition by survey_id order by extract_date) as previous_scale_max,
        lag(higher_is_better) over (partition by survey_id order by extract_date) as previous_higher_is_better
    from per_extract

),

changes as (

    select
        survey_id,
        metric,
        scale_min,
        scale_max,
        higher_is_better,
        extract_date as valid_from
    from sequenced
    where
        previous_extract_date is null
        or metric is distinct from previous_metric
        or scale_min is distinct from previous_scale_min
        or scale_max is distinct from previous_scale_max
        or higher_is_better is distinct from previous_higher_is_better

),

final as (

    select
        survey_id,
        metric,
        scale_min,
        scale_max,
        higher_is_better,
        valid_from,
        lead(valid_from) over (partition by survey_id order by valid_from) as valid_to
    from changes

)

select * from final
