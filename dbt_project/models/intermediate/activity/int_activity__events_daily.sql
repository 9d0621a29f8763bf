{#- Behaviour events counted per identifier tuple, delivery day and event day: the one pass over
    raw events that activity needs, kept from night to night.

    Events never change once a day's file is delivered, so a run only adds the delivery days
    that are not here yet (the new day at night; every day on the first build) and re-counts the
    days of its own window (a re-delivered day). Days delivered after a run's window may stay in
    the table: every reader filters on file_date < window end. A year of events (tens of
    millions of rows) becomes about a fifth as many rows, and nobody re-reads the raw files.

    The same pass keeps, per feed, the raw identifier values that normalise to nothing
    (`<type>_unusable`: the trimmed raw value, null when the type is absent or usable), as part
    of the row's key, so int_identity__unusable_daily counts the events' share from here instead
    of normalising every raw event again. They are rare (junk typed into a field), so they split
    few rows; as keys they cost the grouping far less than an aggregate per type would. -#}
-- depends_on: {{ ref('stg_lake__events') }}
{%- set ids = identifier_types() %}
{#- a table kept from before the feed and unusable-value columns existed is rebuilt once (the
    list is repeated in the pre-hook, which is rendered on its own) -#}
{%- set required = ['feed', 'device_id_unusable'] %}
{%- set rebuild = execute and is_incremental() and _missing_columns(required) %}
{%- set new_days = delivery_days_to_load(ref('stg_lake__events')) if execute and is_incremental() and not rebuild else [] %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='file_date',
    on_schema_change='append_new_columns',
    pre_hook="{{ per_day_reset(required_columns=['feed', 'device_id_unusable']) }}",
) }}
{%- set counts = [
    ('visits', "event_type = 'visit'"),
    ('product_views', "event_type = 'product_view'"),
    ('add_to_cart', "event_type = 'add_to_cart'"),
    ('searches', "event_type = 'search'"),
    ('logins', "event_type = 'login'"),
    ('feature_uses', "event_type = 'feature_use'"),
    ('content_views', "event_type = 'content_view'"),
    ('events', "1 = 1"),
] %}
{#- Raw rows are counted per raw identifier values first, so the identifiers are normalised
    once per distinct tuple and day instead of once per event (the same macros as
    stg_lake__events); tuples that normalise alike are then added together. -#}
with raw as (
    select
        feed,
        {%- for t in ids %}
        id_{{ t }},
        {%- endfor %}
        file_date,
        cast(event_ts as date) as activity_date,
        {%- for name, condition in counts %}
        sum(case when {{ condition }} then 1 else 0 end) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ source('lake', 'events') }}
    where feed <> '_none'
        and file_date < {{ window_end() }}
    {%- if is_incremental() and not rebuild %}
        and {{ file_date_in(new_days) }}
    {%- endif %}
    group by feed, {% for t in ids %}id_{{ t }}, {% endfor %}file_date, cast(event_ts as date)
),

normalised as (
    select
        feed,
        {%- for t in ids %}
        id_{{ t }},
        {%- endfor %}
        {{- normalized_identifiers('id_') }},
        file_date,
        activity_date,
        {{ counts | map(attribute=0) | join(', ') }}
    from raw
),

-- each unusable raw value beside its normalised identifiers, both part of the row's key
{%- set keys = ['feed'] + ids %}
{%- for t in ids %}{% do keys.append(t ~ '_unusable') %}{% endfor %}
{%- do keys.extend(['file_date', 'activity_date']) %}
events as (
    select
        normalised.*,
        {%- for t in ids %}
        case when id_{{ t }} is not null and {{ t }} is null then trim(id_{{ t }}) end as {{ t }}_unusable{% if not loop.last %},{% endif %}
        {%- endfor %}
    from normalised
),

grouped as (
    select
        {{ keys | join(', ') }},
        {%- for name, condition in counts %}
        cast(sum({{ name }}) as {{ dbt.type_bigint() }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from events
    group by {{ keys | join(', ') }}
)

select
    {{ identity_signature() }} as signature,
    grouped.*
from grouped
