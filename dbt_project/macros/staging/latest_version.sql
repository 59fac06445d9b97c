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

    Plain SQL (row_number / min / max windows in a subquery, no QUALIFY), so it runs on any
    adapter; an incremental model can call it on the union of its current rows and new ones.
-#}
{% macro latest_version(relation, key, columns, order_by_updated_at=false, snapshot=false) -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        _extract_date as extract_date,
        _first_extract_date as first_extract_date
        {%- if snapshot %},
        _extract_date = _latest_extract_date as is_current
        {%- endif %}
    from (
        select
            *,
            min(_extract_date) over (partition by {{ key }}) as _first_extract_date,
            {%- if snapshot %}
            max(_extract_date) over () as _latest_extract_date,
            {%- endif %}
            row_number() over (
                partition by {{ key }}
                order by
                    _extract_date desc,
                    {%- if order_by_updated_at %}
                    updated_at desc nulls last,
                    {%- endif %}
                    _source_file desc,
                    _row_number desc
            ) as _version_rank
        from {{ relation }}
    ) as versions
    where _version_rank = 1
{%- endmacro %}
