{#-
    SCD-2 history of account attributes from the sequence of account snapshots: a new version
    only when tier, industry, region, plan or csm_owner_id changes. valid_from is the extract
    date of the change (the first version: the account's first extract), valid_to the next
    version's valid_from (exclusive), null while current. An account missing from later
    snapshots keeps its last version open (stg_crm__accounts.is_current says it was dropped).
-#}
with

source as (

    select * from {{ source('crm', 'accounts') }}

),

typed as (

    select
        account_id,
        tier,
        industry,
        region,
        plan,
        csm_owner_id,
        _extract_date,
        _source_file,
        _row_number
    from source

),

-- one row per account and extract (the last record when an extract repeats an account)
per_extract as (

    select
        account_id,
        tier,
        industry,
        region,
        plan,
        csm_owner_id,
        _extract_date as extract_date
    from (
        select
            *,
            row_number() over (
                partition by account_id, _extract_date
                order by _source_file desc, _row_number desc
            ) as _extract_rank
        from typed
    ) as ranked
    where _extract_rank = 1

),

sequenced as (

    select
        *,
        lag(extract_date) over (partition by account_id order by extract_date) as previous_extract_date,
        lag(tier) over (partition by account_id order by extract_date) as previous_tier,
        lag(industry) over (partition by account_id order by extract_date) as previous_industry,
        lag(region) over (partition by account_id order by extract_date) as previous_region,
        lag(plan) over (partition by account_id order by extract_date) as previous_plan,
        lag(csm_owner_id) over (partition by account_id order by extract_date) as previous_csm_owner_id
    from per_extract

),

changes as (

    select
        account_id,
        tier,
        industry,
        region,
        plan,
        csm_owner_id,
        extract_date as valid_from
    from sequenced
    where
        previous_extract_date is null
        or tier is distinct from previous_tier
        or industry is distinct from previous_industry
        or region is distinct from previous_region
        or plan is distinct from previous_plan
        or csm_owner_id is distinct from previous_csm_owner_id

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
        lead(valid_from) over (partition by account_id order by valid_from) as valid_to
    from changes

)

select * from final
