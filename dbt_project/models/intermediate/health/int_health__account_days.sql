{#-
    One row per account per calendar day of its span: the dense daily spine the health windows
    slide over. The span runs from 60 days before the account's first covered day (room for the
    usage trend's prior 30 days) to its last covered day (at most the latest extract date).

    is_active: a subscription known on that day (first_extract_date <= day) covers it
    (start_date <= day < end_date).
    is_published: active, and either within the last vars.chw.health.daily_history_days days
    before the latest extract date, or a Monday (the days marts.account_health shows).
    is_score_date: is_published, or active within 2 x alerts.health_drop_15.lookback_days days
    before the daily window: the score 30 days earlier of every published day is then that
    exact day's score, so health drops (and their alert ids) do not move when the window does.
-#}
{%- set health = var('chw')['health'] -%}
{%- set lookback = var('chw')['alerts']['health_drop_15']['lookback_days'] -%}

with

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}

),

bounds as (

    select * from {{ ref('int_health__extract_bounds') }}

),

day_numbers as (

    {{ dbt.generate_series(var('chw')['metrics']['calendar_max_days']) }}

),

-- the days a subscription counts for: from when it was both known and started, to its end
coverage as (

    select
        subscriptions.account_id,
        case
            when subscriptions.first_extract_date > subscriptions.start_date then subscriptions.first_extract_date
            else subscriptions.start_date
        end as covered_from,
        case
            when subscriptions.end_date is null or subscriptions.end_date > {{ dbt.dateadd('day', 1, 'bounds.latest_extract_date') }}
                then {{ dbt.dateadd('day', 1, 'bounds.latest_extract_date') }}
            else subscriptions.end_date
        end as covered_to
    from subscriptions
    cross join bounds
    where subscriptions.account_id is not null
        and subscriptions.start_date is not null

),

valid_coverage as (

    select
        account_id,
        cast(covered_from as date) as covered_from,
        cast(covered_to as date) as covered_to
    from coverage
    where covered_from < covered_to

),

-- gaps and islands: merge overlapping subscriptions into covered periods
ordered as (

    select
        *,
        max(covered_to) over (
            partition by account_id
            order by covered_from, covered_to
            rows between unbounded preceding and 1 preceding
        ) as previous_max_to
    from valid_coverage

),

islands as (

    select
        *,
        sum(case when previous_max_to is null or covered_from > previous_max_to then 1 else 0 end) over (
            partition by account_id
            order by covered_from, covered_to
            rows between unbounded preceding and current row
        ) as island_number
    from ordered

),

periods as (

    select
        account_id,
        island_number,
        min(covered_from) as period_from,
        max(covered_to) as period_to
    from islands
    group by account_id, island_number

),

spans as (

    select
        account_id,
        cast({{ dbt.dateadd('day', -60, 'min(period_from)') }} as date) as span_from,
        max(period_to) as span_to
    from periods
    group by account_id

),

spine as (

    select
        spans.account_id,
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'spans.span_from') }} as date) as day
    from spans
    inner join day_numbers
        on day_numbers.generated_number <= {{ dbt.datediff('spans.span_from', 'spans.span_to', 'day') }}

),

flagged as (

    select
        spine.account_id,
        spine.day,
        max(case when periods.account_id is not null then 1 else 0 end) = 1 as is_active
    from spine
    left join periods
        on spine.account_id = periods.account_id
        and spine.day >= periods.period_from
        and spine.day < periods.period_to
    group by spine.account_id, spine.day

),

final as (

    select
        flagged.account_id,
        flagged.day,
        flagged.is_active,
        flagged.is_active and (
            flagged.day > {{ dbt.dateadd('day', -health['daily_history_days'], 'bounds.latest_extract_date') }}
            or cast({{ dbt.date_trunc('week', 'flagged.day') }} as date) = flagged.day
        ) as is_published,
        flagged.is_active and (
            flagged.day > {{ dbt.dateadd('day', -(health['daily_history_days'] + 2 * lookback), 'bounds.latest_extract_date') }}
            or cast({{ dbt.date_trunc('week', 'flagged.day') }} as date) = flagged.day
        ) as is_score_date
    from flagged
    cross join bounds

)

select * from final
