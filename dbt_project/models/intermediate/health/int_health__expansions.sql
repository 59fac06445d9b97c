{#-
    One row per account per day its subscriptions grew: the seats or the MRR (in the
    subscription's own currency) of the subscriptions covering the day (start_date <= d <
    end_date) exceed those of the day before, while the day before was covered too (a first
    subscription or a win-back is not an expansion). At a renewal (a new subscription from the
    old one's end_date) and mid-term (an add-on). The labels of the expansion model, from the
    subscriptions as finally known (as int_health__renewals' churn labels).
-#}

-- hanging brackets and case bodies, which sqlfluff's layout cannot express -- noqa: disable=LT02
with

subscriptions as (

    select * from {{ ref('stg_crm__subscriptions') }}
    where account_id is not null
        and start_date is not null

),

change_days as (

    select distinct account_id, start_date as day from subscriptions

),

covered as (

    select
        change_days.account_id,
        change_days.day,
        sum(case when subscriptions.start_date <= change_days.day
            and (subscriptions.end_date is null or subscriptions.end_date > change_days.day)
            then subscriptions.seats else 0 end) as seats_on_day,
        sum(case when subscriptions.start_date <= change_days.day
            and (subscriptions.end_date is null or subscriptions.end_date > change_days.day)
            then subscriptions.mrr else 0 end) as mrr_on_day,
        sum(case when subscriptions.start_date < change_days.day
            and (subscriptions.end_date is null or subscriptions.end_date >= change_days.day)
            then subscriptions.seats else 0 end) as seats_day_before,
        sum(case when subscriptions.start_date < change_days.day
            and (subscriptions.end_date is null or subscriptions.end_date >= change_days.day)
            then subscriptions.mrr else 0 end) as mrr_day_before,
        max(case when subscriptions.start_date < change_days.day
            and (subscriptions.end_date is null or subscriptions.end_date >= change_days.day)
            then 1 else 0 end) as was_covered
    from change_days
    inner join subscriptions
        on change_days.account_id = subscriptions.account_id
    group by change_days.account_id, change_days.day

),

final as (

    select
        account_id,
        cast(day as date) as expansion_date,
        cast(seats_on_day - seats_day_before as {{ type_double() }}) as seats_added,
        cast(mrr_on_day - mrr_day_before as {{ type_double() }}) as mrr_added
    from covered
    where was_covered = 1
        and (seats_on_day > seats_day_before or mrr_on_day > mrr_day_before)

)

select * from final
