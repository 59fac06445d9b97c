{#-
    One row per day from the first observed day to the warehouse's as-of day: the latest
    accepted extract date of any source (ingest rejects an extract dated after the run's date).
    Never an observation's own date: one far-future timestamp in an accepted extract (a
    `2078-09-09` typo) would otherwise become "today" for every current-state mart (dim_accounts'
    as_of_date, MRR, the calendar of every metric). The spine is at most calendar_max_days long
    and always ends on that day (an observation far in the past moves its start, not its end).
    Window ends of rolling metrics and period ends of stock metrics (MRR, open tickets) come from
    here.
-#}
{%- set max_days = var('chw')['metrics']['calendar_max_days'] -%}

with

responses as (

    select
        min({{ metric_day('responded_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_survey__responses') }}

),

invitations as (

    select
        min({{ metric_day('sent_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_survey__invitations') }}

),

tickets as (

    select
        min({{ metric_day('created_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_helpdesk__tickets') }}

),

calls as (

    select
        min({{ metric_day('offered_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_helpdesk__calls') }}

),

reviews as (

    select
        min({{ metric_day('reviewed_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_reviews__reviews') }}

),

events as (

    select
        min({{ metric_day('occurred_at') }}) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_product__events') }}

),

subscriptions as (

    select
        min(start_date) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_crm__subscriptions') }}

),

milestones as (

    select
        min(planned_date) as first_day,
        max(extract_date) as last_day
    from {{ ref('stg_crm__milestones') }}

),

bounds_by_source as (

    select * from responses
    union all
    select * from invitations
    union all
    select * from tickets
    union all
    select * from calls
    union all
    select * from reviews
    union all
    select * from events
    union all
    select * from subscriptions
    union all
    select * from milestones

),

bounds as (

    select
        greatest(min(first_day), {{ metric_add_days(1 - max_days, 'max(last_day)') }}) as first_day,
        max(last_day) as last_day
    from bounds_by_source

),

spine as (

    {{ dbt.generate_series(max_days) }}

),

final as (

    select {{ metric_add_days('spine.generated_number - 1', 'bounds.first_day') }} as date_day
    from spine
    cross join bounds
    where
        bounds.first_day is not null
        and {{ metric_add_days('spine.generated_number - 1', 'bounds.first_day') }} <= bounds.last_day

)

select * from final
