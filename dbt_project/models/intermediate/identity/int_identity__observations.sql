{#- Every distinct identifier tuple seen in any source up to the end of the window. Events are
    read from int_activity__events_daily (already counted per tuple and day, kept from night to
    night) instead of the raw events: same tuples, days and counts, a fraction of the rows. -#}
{%- set ids = identifier_types() %}
with sightings as (
    select {{ ids | join(', ') }}, file_date, 1 as sightings from {{ ref('int_orders') }}
    union all
    select {{ ids | join(', ') }}, file_date, events as sightings
    from {{ ref('int_activity__events_daily') }}
    where file_date < {{ window_end() }}
    union all
    select {{ ids | join(', ') }}, file_date, 1 as sightings from {{ ref('stg_lake__members') }}
    where file_date < {{ window_end() }}
),

grouped as (
    select
        {{ ids | join(',\n        ') }},
        min(file_date) as first_seen,
        max(file_date) as last_seen,
        cast(sum(sightings) as {{ dbt.type_bigint() }}) as sightings
    from sightings
    where {% for t in ids %}{{ t }} is not null{% if not loop.last %} or {% endif %}{% endfor %}
    group by {{ ids | join(', ') }}
),

final as (
    select
        {{ identity_signature() }} as signature,
        grouped.*
    from grouped
)

select * from final
