{#- One row per identifier (node), with the guard that keeps junk from gluing strangers together:
    blocklisted values and hubs (one identifier linked to implausibly many identifiers of one
    type) are kept for the audit but never used to link. -#}
{%- set ids = identifier_types() %}
{%- set blocklist = identity_setting('blocklist', {}) %}
{%- set max_partners = identity_setting('max_partners_per_type', 20) %}
with observed as (
    {%- for t in ids %}
    select
        signature,
        '{{ t }}' as id_type,
        {{ t }} as id_value,
        {{ node_key(t, t) }} as node,
        first_seen,
        last_seen,
        sightings
    from {{ ref('int_identity__observations') }}
    where {{ t }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

partners as (
    select
        a.node,
        b.id_type as partner_type,
        count(distinct b.node) as partner_count
    from observed as a
    join observed as b
        on b.signature = a.signature
        and b.node <> a.node
    group by a.node, b.id_type
),

busiest as (
    select node, max(partner_count) as max_partners_of_one_type
    from partners
    group by node
),

nodes as (
    select
        node,
        min(id_type) as id_type,
        min(id_value) as id_value,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        sum(sightings) as sightings
    from observed
    group by node
),

final as (
    select
        nodes.*,
        coalesce(busiest.max_partners_of_one_type, 0) as max_partners_of_one_type,
        case
            {%- for t, values in blocklist.items() %}
            when nodes.id_type = '{{ t }}' and nodes.id_value in {{ sql_string_list(values) }} then 'blocked'
            {%- endfor %}
            when coalesce(busiest.max_partners_of_one_type, 0) > {{ max_partners }} then 'hub'
            else 'ok'
        end as link_status
    from nodes
    left join busiest on busiest.node = nodes.node
)

select * from final
