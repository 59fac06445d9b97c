{#-
    Review metrics of docs/metrics.md in the long format of marts.metric_values: review_rating_avg
    (mean rating on 5 stars) and review_count, in the period of reviewed_at. Segments:
    platform, and account attributes as of the review's day where the review names an account.
-#}
{%- set cfg = var('chw') -%}
{%- set segments = cfg['segments']['account'] + cfg['segments']['review'] -%}

with

reviews as (

    select * from {{ ref('int_reviews__reviews_normalized') }}

),

reviews_segmented as (

    select
        reviews.*{{ metric_account_segment_columns() }}
    from reviews
    {{ metric_account_segments_join('reviews.account_id', 'reviews.review_date') }}

),

rating_observations as (

    select
        'review_rating_avg' as metric,
        review_date as obs_date,
        {{ metric_column_list(segments) }}
        rating_5 as val
    from reviews_segmented
    where rating_5 is not null

),

count_observations as (

    select
        {{ metric_column_list(segments) }}
        'review_count' as metric,
        review_date as obs_date
    from reviews_segmented

),

ratings as (

    {{ metric_values('rating_observations', 'mean', segments) }}

),

counts as (

    {{ metric_values('count_observations', 'count', segments) }}

),

final as (

    select * from ratings
    union all
    select * from counts

)

select * from final
