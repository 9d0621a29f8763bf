{#- One row per identifier (node), with the guard that keeps junk from gluing strangers together:
    blocklisted values and hubs (one identifier linked to implausibly many identifiers of one
    type, e.g. a store's counter phone typed for every customer without one) are kept for the
    audit but never used to link.

    Hubs are found in two passes: partners that are hub candidates themselves do not count in
    the second pass, so a member card seen with its owner's phone and two store phones is not a
    hub, while the store phones still are. -#}
{%- set ids = identifier_types() %}
{%- set blocklist = identity_setting('blocklist', {}) %}
{%- set max_partners = identity_setting('max_partners_per_type', 2) %}
with observed as (
    {%- for t in ids %}
    select
        signature,
        '{{ t }}' as id_type,
        {{ t }} as id_value,
        {{ node_key(t, t) }} as node,
        first_seen,
        last_seen,
        sightings,
        case
            when 1 = 0 then 1
            {%- for bt, values in blocklist.items() if bt == t %}
            when {{ t }} in {{ sql_string_list(values) }} then 1
            {%- endfor %}
            else 0
        end as is_blocked
    from {{ ref('int_identity__observations') }}
    where {{ t }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- each linked pair once (tuples sharing the same two identifiers repeat it), so both passes
-- count rows instead of distinct partners
pairs as (
    select distinct a.node, a.id_type as node_type, b.id_type as partner_type, b.node as partner
    from observed as a
    join observed as b
        on b.signature = a.signature
        and b.node <> a.node
        and b.is_blocked = 0
),

first_pass as (
    select node, max(partner_count) as partner_count
    from (
        select node, partner_type, count(*) as partner_count
        from pairs
        group by node, partner_type
    ) as counted
    group by node
    having max(partner_count) > {{ max_partners }}
),

-- second pass: a partner that is itself a worse hub candidate (more partners, or as many and a
-- type more often shared: phone before device before e-mail before account ids) does not count
partners as (
    select pairs.node, pairs.partner_type, count(*) as partner_count
    from pairs
    left join first_pass as me on me.node = pairs.node
    left join first_pass as other on other.node = pairs.partner
    where other.node is null
        or not (
            other.partner_count > coalesce(me.partner_count, 0)
            or (other.partner_count = me.partner_count
                and {{ hub_type_rank('pairs.partner_type') }} < {{ hub_type_rank('pairs.node_type') }})
        )
    group by pairs.node, pairs.partner_type
),

busiest as (
    select node, partner_type as busiest_partner_type, partner_count as max_partners_of_one_type
    from (
        select
            partners.*,
            row_number() over (partition by node order by partner_count desc, partner_type) as rank_in_node
        from partners
    ) as ranked
    where rank_in_node = 1
),

nodes as (
    select
        node,
        min(id_type) as id_type,
        min(id_value) as id_value,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        sum(sightings) as sightings,
        max(is_blocked) as is_blocked
    from observed
    group by node
),

final as (
    select
        nodes.node,
        nodes.id_type,
        nodes.id_value,
        nodes.first_seen,
        nodes.last_seen,
        nodes.sightings,
        -- age order: 1 = the identifier seen first; component labels are these numbers, so the
        -- smallest label of a customer is its oldest identifier
        row_number() over (order by nodes.first_seen, nodes.node) as node_num,
        coalesce(busiest.max_partners_of_one_type, 0) as max_partners_of_one_type,
        busiest.busiest_partner_type,
        case
            when nodes.is_blocked = 1 then 'blocked'
            when coalesce(busiest.max_partners_of_one_type, 0) > {{ max_partners }} then 'hub'
            else 'ok'
        end as link_status
    from nodes
    left join busiest on busiest.node = nodes.node
)

select * from final
