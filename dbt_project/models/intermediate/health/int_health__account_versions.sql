{#-
    One row per account version (stg_crm__accounts_history) with a gap-free validity range for
    as-of joins: the first version also holds for every day before it was first seen.
    Join on effective_from <= d and d < effective_to.
-#}

with

history as (

    select * from {{ ref('stg_crm__accounts_history') }}

),

ranked as (

    select
        *,
        row_number() over (partition by account_id order by valid_from) as version_number
    from history

),

final as (

    select
        account_id,
        tier,
        industry,
        region,
        plan,
        csm_owner_id,
        valid_from,
        valid_to,
        case when version_number = 1 then cast('1900-01-01' as date) else valid_from end as effective_from,
        coalesce(valid_to, cast('9999-12-31' as date)) as effective_to
    from ranked

)

select * from final
