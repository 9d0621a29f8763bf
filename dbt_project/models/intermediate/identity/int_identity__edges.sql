{#- Links between usable identifiers, in both directions, with the day each link was first
    seen: every record links its identifiers (as a star around its anchor). -#}
with links as (
    select anchor_node, node, min(first_seen) as since
    from {{ ref('int_identity__signatures') }}
    where node <> anchor_node
    group by anchor_node, node
),

numbered as (
    select a.node_num as src, b.node_num as dst, links.since
    from links
    join {{ ref('int_identity__nodes') }} as a on a.node = links.anchor_node
    join {{ ref('int_identity__nodes') }} as b on b.node = links.node
),

final as (
    select src, dst, since from numbered
    union all
    select dst as src, src as dst, since from numbered
)

select * from final
