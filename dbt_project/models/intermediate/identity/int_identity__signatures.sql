{#- Each observed identifier tuple → its usable nodes and its anchor (smallest usable node).
    Records are attributed to customers through their anchor. -#}
{%- set ids = identifier_types() %}
with observed as (
    {%- for t in ids %}
    select signature, {{ node_key(t, t) }} as node, first_seen
    from {{ ref('int_identity__observations') }}
    where {{ t }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

usable as (
    select observed.*
    from observed
    join {{ ref('int_identity__nodes') }} as nodes
        on nodes.node = observed.node
        and nodes.link_status = 'ok'
),

anchors as (
    select signature, min(node) as anchor_node, min(first_seen) as first_seen
    from usable
    group by signature
),

final as (
    select usable.signature, usable.node, anchors.anchor_node, usable.first_seen
    from usable
    join anchors on anchors.signature = usable.signature
)

select * from final
