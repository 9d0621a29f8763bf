{#- Raw identifier values that normalise to nothing (empty, null-like, placeholder, not an
    11-digit mobile, not an e-mail address), counted per feed, delivery day and identifier type:
    the one pass over raw rows identity_audit needs, kept from night to night (incremental by
    delivery day, macros/incremental.sql). Every feed and day read leaves a row (id_type null
    when nothing was unusable), so a clean day is not read again. -#}
{%- set ids = identifier_types() %}
{%- set tables = ['order_lines', 'events', 'members'] %}
{%- set days = delivery_days_to_load(lake_deliveries(tables)) if execute and is_incremental() else [] %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delivery_days_reset(lake_deliveries(['order_lines', 'events', 'members'])) }}",
) }}
{%- set in_run -%}
    feed <> '_none'
        and file_date < {{ window_end() }}
        {%- if is_incremental() %}
        and {{ file_date_in(days) }}
        {%- endif %}
{%- endset %}
with unusable_rows as (
    {%- for table in tables %}
    select
        feed,
        file_date,
        {%- for t in ids %}
        case when {{ normalize_identifier(t, 'id_' ~ t) }} is null then trim(id_{{ t }}) end as {{ t }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ source('lake', table) }}
    where {{ in_run }}
        and ({% for t in ids %}(id_{{ t }} is not null and {{ normalize_identifier(t, 'id_' ~ t) }} is null){% if not loop.last %}
            or {% endif %}{% endfor %})
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

raw_values as (
    {%- for t in ids %}
    select feed, file_date, '{{ t }}' as id_type, {{ t }} as raw_value
    from unusable_rows
    where {{ t }} is not null
    union all
    {%- endfor %}
    -- one row per feed and day read, even a clean one
    {%- for table in tables %}
    select distinct feed, file_date, cast(null as {{ dbt.type_string() }}) as id_type,
        cast(null as {{ dbt.type_string() }}) as raw_value
    from {{ source('lake', table) }}
    where {{ in_run }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    feed,
    file_date,
    id_type,
    cast(count(raw_value) as {{ dbt.type_bigint() }}) as records,
    min({{ dbt.concat(["'\"'", "raw_value", "'\"'"]) }}) as example
from raw_values
group by feed, file_date, id_type
