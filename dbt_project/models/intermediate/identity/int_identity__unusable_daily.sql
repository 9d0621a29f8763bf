{#- Raw identifier values that normalise to nothing (empty, null-like, placeholder, not an
    11-digit mobile, not an e-mail address), counted per feed, delivery day and identifier type:
    the one pass over raw rows identity_audit needs, kept from night to night (incremental by
    delivery day, macros/incremental.sql). Every feed and day read leaves a row (id_type null
    when nothing was unusable), so a clean day is not read again.

    Order lines and members are read from the lake here. The events' share is summed from
    int_activity__events_daily, which keeps each unusable raw value (`<type>_unusable`) from its
    own pass over the raw events, normalised per raw identifier tuple instead of per event. -#}
{%- set ids = identifier_types() %}
{%- set tables = ['order_lines', 'events', 'members'] %}
{%- set lake_tables = ['order_lines', 'members'] %}
{%- set days = delivery_days_to_load(lake_deliveries(tables)) if execute and is_incremental() else [] %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='file_date',
    on_schema_change='append_new_columns',
) }}
{%- set in_run -%}
    feed <> '_none'
        and file_date < {{ window_end() }}
        {%- if is_incremental() %}
        and {{ file_date_in(days) }}
        {%- endif %}
{%- endset %}
-- per feed and day, how many values of each type are unusable: one scan per lake table, and the
-- events' counts from their daily aggregate
with per_table as (
    {%- for table in lake_tables %}
    select
        feed,
        file_date,
        {%- for t in ids %}
        {%- set unusable = 'id_' ~ t ~ ' is not null and ' ~ normalize_identifier(t, 'id_' ~ t) ~ ' is null' %}
        count(case when {{ unusable }} then 1 end) as {{ t }}_records,
        min(case when {{ unusable }} then {{ dbt.concat(["'\"'", "trim(id_" ~ t ~ ")", "'\"'"]) }} end) as {{ t }}_example{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ source('lake', table) }}
    where {{ in_run }}
    group by feed, file_date
    union all
    {%- endfor %}
    select
        feed,
        file_date,
        {%- for t in ids %}
        sum(case when {{ t }}_unusable is not null then events else 0 end) as {{ t }}_records,
        min({{ dbt.concat(["'\"'", t ~ "_unusable", "'\"'"]) }}) as {{ t }}_example{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('int_activity__events_daily') }}
    where {{ in_run }}
    group by feed, file_date
),

by_type as (
    {%- for t in ids %}
    select feed, file_date, '{{ t }}' as id_type, {{ t }}_records as records, {{ t }}_example as example
    from per_table
    where {{ t }}_records > 0
    union all
    {%- endfor %}
    -- one row per feed and day read, even a clean one
    select feed, file_date, cast(null as {{ dbt.type_string() }}) as id_type, 0 as records,
        cast(null as {{ dbt.type_string() }}) as example
    from per_table
)

select
    feed,
    file_date,
    id_type,
    cast(sum(records) as {{ dbt.type_bigint() }}) as records,
    min(example) as example
from by_type
group by feed, file_date, id_type
