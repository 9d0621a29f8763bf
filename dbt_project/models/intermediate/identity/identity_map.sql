{{ config(post_hook="{{ drop_connected_components_scratch() }}") }}
{#- identifier (node) → customer_id over time. A customer is a connected component of usable
    identifiers linked by shared records; its id comes from its oldest identifier, so it survives
    re-runs and, when two customers merge, the older id wins. One row per identifier and period:
    from valid_from (inclusive) to valid_to (exclusive, null = still current) the identifier
    belonged to customer_id. The history is derived from the data alone (the day each link was
    first seen), so a backfill and day-by-day runs give the same map.

    Components larger than max_component_size (config/identity.yaml) are not stitched: each of
    their identifiers stays its own customer and identity_audit lists them. -#}
{%- set max_size = identity_setting('max_component_size', 200) %}
{#- Most identifiers join an existing customer on the day they first appear (a record shows the
    new identifier next to a known, older one). Such an identifier follows that older one from
    its first day, so it is folded into it (`attached`, flattened to a root) and the day-by-day
    staircase only runs on the roots: identifiers that first appeared unconnected. -#}
{%- set stitched_nodes -%}
    select n.node_num, n.first_seen
    from {{ ref('int_identity__nodes') }} as n
    join {{ ref('int_identity__components') }} as c on c.node_num = n.node_num
    where c.component_size between 2 and {{ max_size }}
{%- endset %}
{%- set attached_sql -%}
    select e.src as node_num, min(e.dst) as parent
    from {{ ref('int_identity__edges') }} as e
    join ({{ stitched_nodes }}) as n on n.node_num = e.src
    where e.dst < e.src and e.since = n.first_seen
    group by e.src
{%- endset %}
{%- set roots_sql = flatten_forest(attached_sql) %}
{%- set root_of -%}
    select n.node_num, n.first_seen, coalesce(r.root, n.node_num) as root
    from ({{ stitched_nodes }}) as n
    left join ({{ roots_sql }}) as r on r.node_num = n.node_num
{%- endset %}
{%- set nodes_sql -%}
    select node_num, first_seen as since from ({{ root_of }}) as n where root = node_num
{%- endset %}
{%- set edges_sql -%}
    select a.root as src, b.root as dst, min(e.since) as since
    from {{ ref('int_identity__edges') }} as e
    join ({{ root_of }}) as a on a.node_num = e.src
    join ({{ root_of }}) as b on b.node_num = e.dst
    where a.root <> b.root
    group by a.root, b.root
{%- endset %}
with nodes as (
    select * from {{ ref('int_identity__nodes') }} where link_status = 'ok'
),

components as (
    select * from {{ ref('int_identity__components') }}
),

root_stairs as (
    {{ connected_components_over_time(nodes_sql, edges_sql) }}
),

-- every stitched identifier follows its root's staircase from its own first day
stitched as (
    select node_num, label_num, valid_from
    from (
        select
            n.node_num,
            s.component_num as label_num,
            case when s.since < n.first_seen then n.first_seen else s.since end as valid_from,
            s.since,
            max(case when s.since <= n.first_seen then s.since end)
                over (partition by n.node_num) as start_since
        from ({{ root_of }}) as n
        join root_stairs as s on s.node_num = n.root
    ) as clipped
    where since >= start_since
),

periods as (
    select node_num, label_num, valid_from
    from stitched
    union all
    select nodes.node_num, nodes.node_num as label_num, nodes.first_seen as valid_from
    from nodes
    join components on components.node_num = nodes.node_num
    where components.component_size = 1 or components.component_size > {{ max_size }}
),

final as (
    select
        nodes.node,
        nodes.id_type,
        nodes.id_value,
        {{ customer_id_from('labels.node') }} as customer_id,
        periods.valid_from,
        lead(periods.valid_from) over (partition by periods.node_num order by periods.valid_from) as valid_to,
        nodes.first_seen,
        nodes.last_seen,
        case
            when components.component_size > {{ max_size }} then 1 else components.component_size
        end as component_size,
        labels.first_seen as customer_since,
        case
            when components.component_size > {{ max_size }} then 'oversized'
            when components.component_size = 1 then 'single'
            else 'stitched'
        end as stitch_status,
        periods.node_num,
        periods.label_num
    from periods
    join nodes on nodes.node_num = periods.node_num
    join nodes as labels on labels.node_num = periods.label_num
    join components on components.node_num = periods.node_num
)

select * from final
