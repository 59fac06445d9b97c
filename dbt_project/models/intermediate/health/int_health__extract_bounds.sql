{#-
    One row: the latest extract date seen in any source this area reads. "Now" for the health
    score and the alerts is this date, never the wall clock, so re-runs give identical marts.
-#}
with

extract_dates as (

    select max(extract_date) as extract_date from {{ ref('stg_crm__accounts') }}
    union all
    select max(extract_date) from {{ ref('stg_crm__subscriptions') }}
    union all
    select max(extract_date) from {{ ref('stg_crm__activities') }}
    union all
    select max(extract_date) from {{ ref('stg_crm__tasks') }}
    union all
    select max(extract_date) from {{ ref('stg_survey__responses') }}
    union all
    select max(extract_date) from {{ ref('stg_survey__invitations') }}
    union all
    select max(extract_date) from {{ ref('stg_helpdesk__tickets') }}
    union all
    select max(extract_date) from {{ ref('stg_product__events') }}
    union all
    select max(extract_date) from {{ ref('stg_reviews__reviews') }}

),

final as (

    select
        cast(max(extract_date) as date) as latest_extract_date,
        cast(min(extract_date) as date) as earliest_latest_extract_date
    from extract_dates

)

select * from final
