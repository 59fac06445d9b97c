{#-
    One row per theme per month: negative responses mentioning the theme (low CSAT, NPS
    detractor, high effort, review of 2 stars or less on a 5-star scale), all texts mentioning
    it, and the negative share.
-#}

with

themes as (

    select * from {{ ref('fct_comment_themes') }}

),

final as (

    select
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_start,
        cast(theme as {{ dbt.type_string() }}) as theme,
        cast(sum(case when is_negative then 1 else 0 end) as bigint) as negative_count,
        cast(count(*) as bigint) as mention_count,
        cast(sum(case when is_negative then 1 else 0 end) * cast(100 as double) / count(*) as {{ type_double() }}) as negative_pct
    from themes
    group by 1, 2

)

select * from final
