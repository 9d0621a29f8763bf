{#- Every distinct identifier tuple seen in any source up to the end of the window. Events are
    read from int_activity__events_daily (already counted per tuple and day, kept from night to
    night) instead of the raw events: same tuples, days and counts, a fraction of the rows.
    Orders and event rows carry their signature already (int_orders, int_activity__events_daily). -#}
{%- set ids = identifier_types() %}
with sightings as (
    select signature, {{ ids | join(', ') }}, file_date, 1 as sightings from {{ ref('int_orders') }}
    union all
    select signature, {{ ids | join(', ') }}, file_date, events as sightings
    from {{ ref('int_activity__events_daily') }}
    where file_date < {{ window_end() }}
    union all
    select {{ identity_signature() }} as signature, {{ ids | join(', ') }}, file_date, 1 as sightings
    from {{ ref('stg_lake__members') }}
    where file_date < {{ window_end() }}
),

-- grouped by the tuple's signature (one key instead of seven); the signature spells out the
-- identifiers, so each of them is the same on every row of a group
final as (
    select
        signature,
        {%- for t in ids %}
        min({{ t }}) as {{ t }},
        {%- endfor %}
        min(file_date) as first_seen,
        max(file_date) as last_seen,
        cast(sum(sightings) as {{ dbt.type_bigint() }}) as sightings
    from sightings
    where {% for t in ids %}{{ t }} is not null{% if not loop.last %} or {% endif %}{% endfor %}
    group by signature
)

select * from final
