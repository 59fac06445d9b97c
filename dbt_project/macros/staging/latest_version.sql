{#-
    latest_version(relation, key, columns, order_by_updated_at=false, snapshot=false)

    One row per `key` from a relation that holds every version of every record, one set of
    rows per extract (the raw layer: contract columns plus the lineage columns `_extract_date`,
    `_source_file`, `_row_number`). The winning version is the one from the latest extract;
    within one extract the greatest `updated_at` (entities that have one), then the last file
    and the last record in it, so the choice is deterministic.

    Returns a select of `columns`, then
      extract_date        the extract the winning version came from,
      first_extract_date  the first extract the key appeared in (what was known when),
      is_current          (snapshot=true only) the key is in the entity's latest extract.

    Most keys have one version (events, comments: nearly all of them): those pass straight
    through, and only the keys seen more than once go through the row_number window, which
    sorts every row it ranks (the whole of events at M: 484 s of a first build). `relation` is
    a CTE name or a parenthesised select, read once for the key counts and once per branch: a
    large one should be a CTE declared with cte_not_materialized(), which DuckDB reads again
    in each place instead of writing all its rows once (stg_product__events, full build).
    The keys are counted by latest_version_key_bucket(): on DuckDB a 64-bit hash of the key, as
    grouping 100 M text keys cost more than the rest of the dedupe (stg_product__events at M,
    alone: 89.8 -> 76.4 s). A bucket shared by two keys only sends both through the window,
    which ranks by the key itself, so a hash collision costs a sort, never a wrong winner.
    Plain SQL (windows in a subquery, no QUALIFY, no semi/anti join keywords), so it runs on
    any adapter; an incremental model can call it on the union of its current rows and new ones.
-#}
{% macro latest_version(relation, key, columns, order_by_updated_at=false, snapshot=false) -%}
    with

    -- buckets holding more than one row, or a null key: their rows go through the window.
    -- Grouped only when some bucket repeats: counting distinct buckets says whether one does at
    -- about half the cost of grouping every bucket with its counts, and a first build usually
    -- finds none (stg_product__events at M, alone: 26.4-27.7 -> 22.2-22.9 s, the same rows)
    lv_repeated_keys as (

        select {{ latest_version_key_bucket('keyed.' ~ key) }} as key_bucket, 1 as is_repeated
        from {{ relation }} as keyed
        where (
            select count(*) > count(distinct {{ latest_version_key_bucket('counted.' ~ key) }})
                or count(*) > count(counted.{{ key }})
            from {{ relation }} as counted
        )
        group by {{ latest_version_key_bucket('keyed.' ~ key) }}
        having count(*) > 1 or count(*) > count(keyed.{{ key }})

    )

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        _extract_date as extract_date,
        _first_extract_date as first_extract_date
        {%- if snapshot %},
        {#- the latest extract's keys all win with it, so the winners' max is the entity's -#}
        _extract_date = max(_extract_date) over () as is_current
        {%- endif %}
    from (
        -- keys with one version (nearly every key of a fact entity): that version, no window
        select
            {%- for column in columns %}
            versions.{{ column }},
            {%- endfor %}
            versions._extract_date,
            versions._extract_date as _first_extract_date
        from {{ relation }} as versions
        left join lv_repeated_keys as repeated
            on {{ latest_version_key_bucket('versions.' ~ key) }} is not distinct from repeated.key_bucket
        where repeated.is_repeated is null

        union all

        -- keys with several versions (and a null key, if any): ranked by the rule above
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            _extract_date,
            _first_extract_date
        from (
            select
                versions.*,
                min(versions._extract_date) over (partition by versions.{{ key }}) as _first_extract_date,
                row_number() over (
                    partition by versions.{{ key }}
                    order by
                        versions._extract_date desc,
                        {%- if order_by_updated_at %}
                        versions.updated_at desc nulls last,
                        {%- endif %}
                        versions._source_file desc,
                        versions._row_number desc
                ) as _version_rank
            from {{ relation }} as versions
            inner join lv_repeated_keys as repeated
                on {{ latest_version_key_bucket('versions.' ~ key) }} is not distinct from repeated.key_bucket
        ) as ranked
        where _version_rank = 1
    ) as winners
{%- endmacro %}


{#-
    latest_version_key_bucket(column): what latest_version() counts a key's rows by. Any
    function of the key is correct (equal keys share a bucket; keys sharing a bucket are ranked
    apart by the key itself); a narrower type is cheaper to group and join. Default: the key.
-#}
{% macro latest_version_key_bucket(column) -%}
    {{ return(adapter.dispatch('latest_version_key_bucket')(column)) }}
{%- endmacro %}

{% macro default__latest_version_key_bucket(column) -%}
    {{ column }}
{%- endmacro %}

{% macro duckdb__latest_version_key_bucket(column) -%}
    hash({{ column }})
{%- endmacro %}


{#-
    incremental_latest_version(relation, key, columns, cutoff, order_by_updated_at=false)

    latest_version() for an incremental staging model (materialized incremental, strategy
    delete+insert, unique_key = `key`). `relation` holds the versions of the extracts after
    `cutoff` (incremental_cutoff('extract_date'): the caller filters its source with it, so only
    those raw partitions are read). Without a cutoff (first build, --full-refresh) this is
    latest_version() over everything.

    With a cutoff, for the keys that have a new version:
      candidates   the new versions, plus the row already in the table when it came from an
                   extract on or before the cutoff (it stands for every older version: it won
                   among them). A row from after the cutoff is not a candidate: its extract is
                   read again, so a re-ingested extract replaces it.
      winner       the same rule as a full build (latest extract, greatest updated_at, last
                   file and record), so a re-sent id in a later extract replaces the earlier one;
      first_extract_date  the earlier of the new versions' first extract and the one already
                   recorded for the key, the latter only when it is on or before the cutoff (a
                   later one is read again, and may have been withdrawn).
    `relation` should come from incremental_source(), so that a key whose versions after the
    cutoff were all withdrawn falls back to its older version; the post-hook
    delete_withdrawn_versions() deletes such a key when it has none.
    The result equals a full build as long as the extracts on or before the cutoff did not
    change since they were built (a partition re-ingested further back needs --full-refresh).
    snapshot=true (a snapshot entity, e.g. stg_crm__subscriptions): is_current too, among the
    keys written. The snapshot the table's newest rows came from is always after the cutoff
    (the table's newest extract minus the lookback), so it is read again and its keys missing
    from a newer snapshot are rewritten, no longer current; the post-hook refresh_is_current()
    keeps every row right whatever the lookback (a lookback of 0 would not read it again).
-#}
{% macro incremental_latest_version(relation, key, columns, cutoff, order_by_updated_at=false, snapshot=false) -%}
    {%- if cutoff is none -%}
    {{ latest_version(relation, key, columns, order_by_updated_at=order_by_updated_at, snapshot=snapshot) }}
    {%- else -%}
    {%- set candidates -%}
    (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            _extract_date,
            _source_file,
            _row_number
        from {{ relation }}
        union all
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            extract_date as _extract_date,
            cast('' as {{ dbt.type_string() }}) as _source_file,
            cast(0 as {{ dbt.type_bigint() }}) as _row_number
        from {{ this }}
        where extract_date <= {{ cutoff }}
            and {{ key }} in (select {{ key }} from {{ relation }})
    )
    {%- endset -%}
    select
        {%- for column in columns %}
        winners.{{ column }},
        {%- endfor %}
        winners.extract_date,
        case
            when known.first_extract_date <= {{ cutoff }}
                and known.first_extract_date < winners.first_extract_date then known.first_extract_date
            else winners.first_extract_date
        end as first_extract_date
        {%- if snapshot %},
        winners.is_current  -- among these keys only: the post-hook refresh_is_current() sets every row's
        {%- endif %}
    from (
        {{ latest_version(candidates, key, columns, order_by_updated_at=order_by_updated_at, snapshot=snapshot) }}
    ) as winners
    left join {{ this }} as known
        on winners.{{ key }} = known.{{ key }}
    {%- endif %}
{%- endmacro %}


{#-
    incremental_source(relation, key, cutoff)

    The raw rows an incremental delta staging model reads: the versions of the extracts after
    `cutoff` and, when an extract after the cutoff was withdrawn or re-sent without some keys,
    the older versions of those keys. A full build (cutoff none): every row.

    Why: delete+insert replaces only the keys that arrive again. A key whose only versions after
    the cutoff are gone from the raw layer would keep its withdrawn version, where a full build
    holds its older version (or nothing). Those keys ("withdrawn": in the table with an extract
    date after the cutoff, in no raw extract after it) are found from the table as the previous
    run left it; their older versions are read from the extracts on or before the cutoff.
    They are counted first (0.2 s for stg_product__events at M: 1.9 M rows after the cutoff), and
    the older extracts are named in the SQL only when there are some: the usual run finds none,
    and a union with a scan of all history, even one an empty join would skip, makes DuckDB
    expect 100 M rows and join the staged table the other way round (stg_product__events at M:
    2.5 -> 9 s). `relation` is the source itself, not a CTE (DuckDB materializes a CTE read more
    than once, and would read every extract to keep it).
-#}
{% macro incremental_source(relation, key, cutoff) -%}
    {%- set withdrawn = count_withdrawn_keys(relation, key, cutoff) %}
    select * from {{ relation }}
    {%- if cutoff is not none %}
    where _extract_date > {{ cutoff }}
    {%- endif %}
    {%- if withdrawn > 0 %}

    union all

    select * from {{ relation }} as older
    where older._extract_date <= {{ cutoff }}
        and older.{{ key }} in ({{ withdrawn_keys(relation, key, cutoff) }})
    {%- endif %}
{%- endmacro %}

{#- The keys of the staged rows (`staged`: this model's table) from an extract after `cutoff` that
    no raw extract after it holds any more (incremental_source; stg_product__event_day_moves), and
    how many there are (0 in a full build, or when `cutoff` is none), logged when some. -#}
{% macro count_withdrawn_keys(relation, key, cutoff, staged=none) -%}
    {%- if cutoff is none or not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from (" ~ withdrawn_keys(relation, key, cutoff, staged) ~ ") as withdrawn").columns[0].values()[0] -%}
    {%- if found > 0 -%}
        {%- do log(this.identifier ~ ": " ~ found ~ " keys of " ~ (staged if staged is not none else this).identifier
                   ~ " withdrawn from the extracts after " ~ cutoff, info=true) -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{% macro withdrawn_keys(relation, key, cutoff, staged=none) -%}
    select staged.{{ key }} from {{ staged if staged is not none else this }} as staged
    where staged.extract_date > {{ cutoff }}
        and staged.{{ key }} not in (
            select {{ key }} from {{ relation }} where _extract_date > {{ cutoff }} and {{ key }} is not null
        )
{%- endmacro %}

{#-
    delete_withdrawn_versions(relation, key)

    Post-hook of an incremental delta staging model (with pre-hook record_increment_cutoff(
    'extract_date'), whose cutoff it uses): deletes the rows of withdrawn keys that had no older
    version to fall back to (incremental_source). Those with one were replaced by the build; the
    rest still hold the withdrawn version, and a full build, which never reads it, holds nothing
    for them. It runs after the build, so incremental_cutoff() would see the rows just written:
    hence the recorded cutoff. Nothing to do after a full build.
-#}
{% macro delete_withdrawn_versions(relation, key) -%}
    {%- set cutoff = recorded_increment_cutoff() -%}
    {%- if cutoff is none -%}
        select 1
    {%- else -%}
        delete from {{ this }}
        where {{ key }} in ({{ withdrawn_keys(relation, key, cutoff) }})
    {%- endif -%}
{%- endmacro %}


{#-
    refresh_is_current()

    Post-hook of an incremental snapshot staging model (incremental_latest_version(snapshot=true)):
    is_current = the row's version is from the entity's latest extract, as latest_version()
    computes it in a full build (the latest extract's keys all win with it, so the table's
    newest extract_date is the entity's). Every row, as a build writes only the keys it reads
    again; with the lookback of at least a day it finds none to change (see
    incremental_latest_version), and updates only rows that are wrong. Nothing to do after a
    full build.
-#}
{% macro refresh_is_current() -%}
    {%- set cutoff = recorded_increment_cutoff() -%}
    {%- if cutoff is none -%}
        select 1
    {%- else -%}
        update {{ this }}
        set is_current = coalesce({{ this }}.extract_date = latest.extract_date, false)
        from (select max(extract_date) as extract_date from {{ this }}) as latest
        where is_current is distinct from coalesce({{ this }}.extract_date = latest.extract_date, false)
    {%- endif -%}
{%- endmacro %}
