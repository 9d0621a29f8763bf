{#- The contact points of every customer as of the window's last day, most recently seen first.
    Clear text lives only in the warehouse; exports mask or hash it. -#}
with identity as (
    select *
    from {{ ref('identity_map') }}
    where valid_from <= {{ window_last_day() }}
        and (valid_to is null or valid_to > {{ window_last_day() }})
),

ranked as (
    select
        customer_id,
        id_type,
        id_value,
        row_number() over (partition by customer_id, id_type order by last_seen desc, id_value) as rank_in_type
    from identity
),

final as (
    select
        customer_id,
        {%- for t in identifier_types() %}
        max(case when id_type = '{{ t }}' then id_value end) as {{ t }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from ranked
    where rank_in_type = 1
    group by customer_id
)

select * from final
