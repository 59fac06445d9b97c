{#-
    One row per account and month or quarter (grain) in which it had MRR or a movement.
    An account's MRR on day d is the sum of mrr_reporting over its subscriptions with
    start_date <= d < end_date. start_mrr is the MRR on the last day of the period before,
    end_mrr on the period's last day (the calendar's last day while the period is running).

    Monthly movements between consecutive month ends: new (from 0, never had MRR at an earlier
    month end), reactivation (from 0 after an earlier month end with MRR), expansion,
    contraction, churn (to 0). A quarter's movements are the sums of its months' movements, so
    start_mrr + new + expansion - contraction - churned + reactivation = end_mrr at both grains.
    is_new_account: the account's first subscription starts within the period.
-#}
{%- set double = type_double() -%}
{%- set movements = ['new_mrr', 'expansion_mrr', 'contraction_mrr', 'churned_mrr', 'reactivation_mrr'] -%}

with

subscriptions as (

    select * from {{ ref('int_revenue__subscriptions_converted') }}
    where has_rate

),

periods as (

    select * from {{ ref('int_calendar__periods') }}
    where grain in ('month', 'quarter')

),

accounts as (

    select
        account_id,
        min(start_date) as first_subscription_start
    from subscriptions
    group by account_id

),

measure_dates as (

    select period_end as measure_date from periods
    union
    select {{ metric_add_days(-1, 'period_start') }} as measure_date from periods

),

mrr_at_dates as (

    select
        subscriptions.account_id,
        measure_dates.measure_date,
        cast(sum(cast(subscriptions.mrr_reporting as {{ metric_exact_type() }})) as {{ type_double() }}) as mrr
    from measure_dates
    inner join subscriptions
        on subscriptions.start_date <= measure_dates.measure_date
        and (subscriptions.end_date is null or measure_dates.measure_date < subscriptions.end_date)
    group by subscriptions.account_id, measure_dates.measure_date

),

account_periods as (

    select
        periods.grain,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        accounts.account_id,
        accounts.first_subscription_start,
        cast(coalesce(start_mrr.mrr, 0) as {{ double }}) as start_mrr,
        cast(coalesce(end_mrr.mrr, 0) as {{ double }}) as end_mrr,
        accounts.first_subscription_start >= periods.period_start
        and accounts.first_subscription_start <= periods.period_end as is_new_account
    from periods
    inner join accounts
        on accounts.first_subscription_start <= periods.period_end
    left join mrr_at_dates as start_mrr
        on accounts.account_id = start_mrr.account_id
        and start_mrr.measure_date = {{ metric_add_days(-1, 'periods.period_start') }}
    left join mrr_at_dates as end_mrr
        on accounts.account_id = end_mrr.account_id
        and end_mrr.measure_date = periods.period_end

),

months as (

    select
        *,
        coalesce(
            max(case when end_mrr > 0 then 1 else 0 end) over (
                partition by account_id
                order by period_start
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) = 1 as had_mrr_before
    from account_periods
    where grain = 'month'

),

month_movements as (

    select
        *,
        case when start_mrr = 0 and end_mrr > 0 and not had_mrr_before then end_mrr else 0 end as new_mrr,
        case when start_mrr > 0 and end_mrr > start_mrr then end_mrr - start_mrr else 0 end as expansion_mrr,
        case when start_mrr > 0 and end_mrr > 0 and end_mrr < start_mrr then start_mrr - end_mrr else 0 end
            as contraction_mrr,
        case when start_mrr > 0 and end_mrr = 0 then start_mrr else 0 end as churned_mrr,
        case when start_mrr = 0 and end_mrr > 0 and had_mrr_before then end_mrr else 0 end as reactivation_mrr
    from months

),

quarter_movements as (

    select
        account_periods.*
        {%- for m in movements %},
        coalesce(sum(month_movements.{{ m }}), 0) as {{ m }}{% endfor %}
    from account_periods
    left join month_movements
        on account_periods.account_id = month_movements.account_id
        and {{ metric_trunc('quarter', 'month_movements.period_start') }} = account_periods.period_start
    where account_periods.grain = 'quarter'
    group by
        account_periods.grain,
        account_periods.period_start,
        account_periods.period_end,
        account_periods.is_complete,
        account_periods.account_id,
        account_periods.first_subscription_start,
        account_periods.start_mrr,
        account_periods.end_mrr,
        account_periods.is_new_account

),

unioned as (

    select
        grain, period_start, period_end, is_complete, account_id, first_subscription_start,
        start_mrr, end_mrr, is_new_account,
        {{ movements | join(', ') }}
    from month_movements
    union all
    select
        grain, period_start, period_end, is_complete, account_id, first_subscription_start,
        start_mrr, end_mrr, is_new_account,
        {{ movements | join(', ') }}
    from quarter_movements

),

final as (

    select
        grain,
        period_start,
        period_end,
        is_complete,
        account_id,
        first_subscription_start,
        start_mrr,
        end_mrr,
        {%- for m in movements %}
        cast({{ m }} as {{ double }}) as {{ m }},
        {%- endfor %}
        case
            when start_mrr = 0 and end_mrr = 0 then 'none'
            when start_mrr = 0 and reactivation_mrr > 0 then 'reactivation'
            when start_mrr = 0 then 'new'
            when end_mrr = 0 then 'churn'
            when end_mrr > start_mrr then 'expansion'
            when end_mrr < start_mrr then 'contraction'
            else 'flat'
        end as movement_type,
        start_mrr > 0 as is_active_at_start,
        end_mrr > 0 as is_active_at_end,
        is_new_account
    from unioned
    where
        start_mrr > 0
        or end_mrr > 0
        or is_new_account
        {%- for m in movements %}
        or {{ m }} <> 0
        {%- endfor %}

)

select * from final
