{#-
    Revenue and retention metrics per month and quarter (vars.chw.metrics.revenue_grains), in
    the long format of marts.metric_values, from int_revenue__account_mrr_periods (S = MRR at
    the period start, i.e. the last day of the period before; E = MRR at the period end):
      logo_churn_rate_pct         accounts with S > 0 and E = 0 / accounts with S > 0 * 100
      annualized_logo_churn_pct   (1 - (1 - rate)^k) * 100 from the period's logo churn rate,
                                  k = 12 for months (docs/metrics.md) and 4 for quarters
      revenue_churn_rate_pct      (churned + contraction MRR of accounts with S > 0) / sum S * 100
      nrr_pct                     sum E over accounts with S > 0 / sum S * 100
                                  (= start + expansion - contraction - churned, over those accounts)
      grr_pct                     sum min(E, S) over accounts with S > 0 / sum S * 100
      customer_retention_rate_pct (accounts with E > 0 - new accounts) / accounts with S > 0 * 100;
                                  a new account (first subscription starts in the period) is
                                  subtracted when it is among the accounts at the end
      arpa_annual                 ARR at the period end (12 * sum E) / accounts with E > 0
      new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr
                                  movements between consecutive month ends, summed
    Segments: account attributes as of the period's end.
-#}
{%- set cfg = var('chw') -%}
{%- set segments = cfg['segments']['account'] -%}
{%- set grains = cfg['metrics']['revenue_grains'] -%}
{%- set periods_per_year = {'month': 12, 'quarter': 4} -%}

with

account_periods as (

    select * from {{ ref('int_revenue__account_mrr_periods') }}

),

account_periods_segmented as (

    select
        account_periods.*,
        account_periods.period_start as obs_date{{ metric_account_segment_columns() }}
    from account_periods
    {{ metric_account_segments_join('account_periods.account_id', 'account_periods.period_end') }}

),

rate_observations as (

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'logo_churn_rate_pct' as metric,
        case when start_mrr > 0 and end_mrr = 0 then 1 else 0 end as num,
        case when start_mrr > 0 then 1 else 0 end as den
    from account_periods_segmented

    union all

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'revenue_churn_rate_pct' as metric,
        case
            when start_mrr > 0 and end_mrr < start_mrr then start_mrr - end_mrr
            else 0
        end as num,
        start_mrr as den
    from account_periods_segmented

    union all

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'nrr_pct' as metric,
        case when start_mrr > 0 then end_mrr else 0 end as num,
        start_mrr as den
    from account_periods_segmented

    union all

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'grr_pct' as metric,
        case
            when start_mrr > 0 and end_mrr < start_mrr then end_mrr
            when start_mrr > 0 then start_mrr
            else 0
        end as num,
        start_mrr as den
    from account_periods_segmented

    union all

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'customer_retention_rate_pct' as metric,
        case
            when end_mrr > 0 and is_new_account then 0
            when end_mrr > 0 then 1
            else 0
        end as num,
        case when start_mrr > 0 then 1 else 0 end as den
    from account_periods_segmented

),

arpa_observations as (

    select
        grain, obs_date, {{ metric_column_list(segments) }}
        'arpa_annual' as metric,
        12 * end_mrr as num,
        case when end_mrr > 0 then 1 else 0 end as den
    from account_periods_segmented

),

movement_observations as (

    {%- for m in ['new_mrr', 'expansion_mrr', 'contraction_mrr', 'churned_mrr', 'reactivation_mrr'] %}
    {%- if not loop.first %}

    union all

    {% endif %}
    select
        grain, obs_date, {{ metric_column_list(segments) }}
        '{{ m }}' as metric,
        {{ m }} as val
    from account_periods_segmented
    {%- endfor %}

),

{%- for grain in grains %}

{{ grain }}_rate_observations as (

    select * from rate_observations where grain = '{{ grain }}'

),

{{ grain }}_arpa_observations as (

    select * from arpa_observations where grain = '{{ grain }}'

),

{{ grain }}_movement_observations as (

    select * from movement_observations where grain = '{{ grain }}'

),

{{ grain }}_rates as (

    {{ metric_values(grain ~ '_rate_observations', 'ratio', segments, grains=[grain]) }}

),

{{ grain }}_arpa as (

    {{ metric_values(grain ~ '_arpa_observations', 'ratio', segments, grains=[grain], scale=1) }}

),

{{ grain }}_movements as (

    {{ metric_values(grain ~ '_movement_observations', 'sum', segments, grains=[grain]) }}

),

{{ grain }}_annualized_churn as (

    select
        'annualized_logo_churn_pct' as metric,
        grain,
        period_start,
        window_days,
        segment_type,
        segment_value,
        100 * (1 - power(1 - value / 100, {{ periods_per_year[grain] }})) as value,
        cast(null as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator,
        sample_size,
        cast(null as {{ type_double() }}) as ci_low,
        cast(null as {{ type_double() }}) as ci_high
    from {{ grain }}_rates
    where metric = 'logo_churn_rate_pct'

),
{%- endfor %}

final as (

    {%- for grain in grains %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select * from {{ grain }}_rates
    union all
    select * from {{ grain }}_arpa
    union all
    select * from {{ grain }}_movements
    union all
    select {{ metric_values_columns(grain ~ '_annualized_churn') }} from {{ grain }}_annualized_churn
    {%- endfor %}

)

select * from final
