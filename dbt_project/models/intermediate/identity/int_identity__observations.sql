{#- Every distinct identifier tuple seen in any source up to the end of the window. -#}
{%- set ids = identifier_types() %}
with sightings as (
    select {{ ids | join(', ') }}, file_date from {{ ref('int_orders') }}
    union all
    select {{ ids | join(', ') }}, file_date from {{ ref('stg_lake__events') }}
    where file_date < {{ window_end() }}
    union all
    select {{ ids | join(', ') }}, file_date from {{ ref('stg_lake__members') }}
    where file_date < {{ window_end() }}
),

grouped as (
    select
        {{ ids | join(',\n        ') }},
        min(file_date) as first_seen,
        max(file_date) as last_seen,
        count(*) as sightings
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
