{#- One row per evidence measure and segment: the back-test of account_health against churn. -#}

with

evidence as (

    select * from {{ source('models', 'health_evidence') }}

),

final as (

    select
        cast(measure as {{ dbt.type_string() }}) as measure,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment_value as {{ dbt.type_string() }}) as segment_value,
        cast(value as {{ type_double() }}) as value,
        cast(goal as {{ type_double() }}) as goal,
        cast(meets_goal as boolean) as meets_goal,
        cast(sample_size as bigint) as sample_size
    from evidence

)

select * from final
