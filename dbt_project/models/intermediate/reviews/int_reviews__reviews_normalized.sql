{#-
    One row per online review with its rating rescaled to 5 stars:
    rating_5 = rating * 5 / rating_scale_max (an 8 of 10 is 4.0 stars).
-#}
with

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

final as (

    select
        review_id,
        platform,
        account_id,
        rating,
        rating_scale_max,
        case
            when rating_scale_max > 0 then rating * 5 / rating_scale_max
        end as rating_5,
        reviewed_at,
        {{ metric_day('reviewed_at') }} as review_date,
        extract_date,
        first_extract_date
    from reviews

)

select * from final
