{{ config(post_hook="{{ drop_connected_components_scratch() }}") }}
{#- identifier (node) → customer_id. A customer is a connected component of usable identifiers
    linked by shared records; its id comes from its oldest identifier, so it survives re-runs
    and, when two customers merge, the older id wins. valid_from / valid_to give the period an
    identifier belonged to that customer (open-ended here: the map as known at window end). -#}
with usable_nodes as (
    select
        node,
        id_type,
        id_value,
        first_seen,
        last_seen,
        row_number() over (order by node) as node_num
    from {{ ref('int_identity__nodes') }}
    where link_status = 'ok'
),

{%- set nodes_sql -%}
    select row_number() over (order by node) as node_num, node
    from {{ ref('int_identity__nodes') }}
    where link_status = 'ok'
{%- endset %}
{%- set edges_sql -%}
    with numbered as ({{ nodes_sql }}),
    links as (
        select distinct anchor_node, node
        from {{ ref('int_identity__signatures') }}
        where node <> anchor_node
    )
    select a.node_num as src, b.node_num as dst
    from links
    join numbered as a on a.node = links.anchor_node
    join numbered as b on b.node = links.node
    union all
    select b.node_num as src, a.node_num as dst
    from links
    join numbered as a on a.node = links.anchor_node
    join numbered as b on b.node = links.node
{%- endset %}

components as (
    {{ connected_components(nodes_sql, edges_sql) }}
),

labelled as (
    select usable_nodes.*, components.component_num
    from usable_nodes
    join components on components.node_num = usable_nodes.node_num
),

oldest as (
    select
        component_num,
        node as oldest_node,
        row_number() over (partition by component_num order by first_seen, node) as age_rank
    from labelled
),

sizes as (
    select component_num, count(*) as component_size, min(first_seen) as customer_since
    from labelled
    group by component_num
),

final as (
    select
        labelled.node,
        labelled.id_type,
        labelled.id_value,
        {{ customer_id_from('oldest.oldest_node') }} as customer_id,
        labelled.first_seen,
        labelled.last_seen,
        sizes.component_size,
        sizes.customer_since,
        labelled.first_seen as valid_from,
        cast(null as date) as valid_to
    from labelled
    join oldest
        on oldest.component_num = labelled.component_num
        and oldest.age_rank = 1
    join sizes on sizes.component_num = labelled.component_num
)

select * from final
