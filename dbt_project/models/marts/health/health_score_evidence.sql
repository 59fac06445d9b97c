{#-
    One row per evidence measure and segment: the back-test of account_health against churn
    (models/health_evidence), and the churn and expansion models' measures on the renewals held
    out in time (models/health_weights, segment all).
-#}

with

evidence as (

    select * from {{ source('models', 'health_evidence') }}

),

heldout as (

    select * from {{ source('models', 'health_model_heldout') }}

),

unioned as (

    select
        measure,
        segment_type,
        segment_value,
        value,
        goal,
        meets_goal,
        sample_size,
        cast(null as {{ dbt.type_string() }}) as value_text
    from evidence
    union all
    select
        measure,
        segment_type,
        segment_value,
        value,
        goal,
        meets_goal,
        sample_size,
        value_text
    from heldout

),

final as (

    select
        cast(measure as {{ dbt.type_string() }}) as measure,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(value as {{ type_double() }}) as value,
        cast(goal as {{ type_double() }}) as goal,
        cast(meets_goal as boolean) as meets_goal,
        cast(sample_size as bigint) as sample_size,
        cast(value_text as {{ dbt.type_string() }}) as value_text
    from unioned

)

select * from final
