{#- Behaviour events counted per identifier tuple, delivery day and event day: the one pass over
    raw events that activity needs, kept from night to night.

    Events never change once a day's file is delivered, so a run only adds the delivery days
    that are not here yet (the new day at night; every day on the first build) and re-counts the
    days of its own window (a re-delivered day). Days delivered after a run's window may stay in
    the table: every reader filters on file_date < window end. A year of events (tens of
    millions of rows) becomes about a fifth as many rows, and nobody re-reads the raw files. -#}
{%- set ids = identifier_types() %}
{%- set new_days = delivery_days_to_load(ref('stg_lake__events')) if execute and is_incremental() else [] %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='file_date',
    on_schema_change='append_new_columns',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where file_date >= {{ window_start() }} and file_date < {{ window_end() }}{% endif %}",
) }}
with events as (
    select
        {{ ids | join(', ') }},
        file_date,
        event_date as activity_date,
        sum(case when event_type = 'visit' then 1 else 0 end) as visits,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_cart,
        sum(case when event_type = 'search' then 1 else 0 end) as searches,
        sum(case when event_type = 'login' then 1 else 0 end) as logins,
        sum(case when event_type = 'feature_use' then 1 else 0 end) as feature_uses,
        sum(case when event_type = 'content_view' then 1 else 0 end) as content_views,
        count(*) as events
    from {{ ref('stg_lake__events') }}
    where file_date < {{ window_end() }}
    {%- if is_incremental() %}
        and {{ file_date_in(new_days) }}
    {%- endif %}
    group by {{ ids | join(', ') }}, file_date, event_date
)

select
    {{ identity_signature() }} as signature,
    events.*
from events
