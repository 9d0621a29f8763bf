{#- Additive activity per anchor identifier and day: the building block of every feature.
    Keyed by anchor (not customer) so an identity merge never invalidates it. A view: its
    sources (int_orders, int_activity__events_daily) are kept from night to night, and the one
    reader (int_customer__activity_daily) aggregates it in the same pass. -#}
{{ config(materialized='view') }}
with signatures as (
    select distinct signature, anchor_node from {{ ref('int_identity__signatures') }}
),

orders as (
    select
        signatures.anchor_node,
        o.order_date as activity_date,
        sum(o.is_purchase) as purchases,
        sum(case when o.is_purchase = 1 then o.net_amount else 0 end) as net_amount,
        sum(case when o.order_status <> 'cancelled' then o.gross_amount else 0 end) as gross_amount,
        sum(case when o.order_status in ('refunded', 'partially_refunded') then 1 else 0 end) as refunds,
        sum(case when o.order_status = 'cancelled' then 1 else 0 end) as cancels,
        0 as visits,
        0 as product_views,
        0 as add_to_cart,
        0 as searches,
        0 as logins,
        0 as feature_uses,
        0 as content_views,
        0 as events
    from {{ ref('int_orders') }} as o
    join signatures on signatures.signature = {{ identity_signature('o.') }}
    group by signatures.anchor_node, o.order_date
),

events as (
    select
        signatures.anchor_node,
        e.activity_date,
        0 as purchases,
        0 as net_amount,
        0 as gross_amount,
        0 as refunds,
        0 as cancels,
        sum(e.visits) as visits,
        sum(e.product_views) as product_views,
        sum(e.add_to_cart) as add_to_cart,
        sum(e.searches) as searches,
        sum(e.logins) as logins,
        sum(e.feature_uses) as feature_uses,
        sum(e.content_views) as content_views,
        sum(e.events) as events
    from {{ ref('int_activity__events_daily') }} as e
    join signatures on signatures.signature = e.signature
    where e.file_date < {{ window_end() }}
    group by signatures.anchor_node, e.activity_date
),

final as (
    select
        anchor_node,
        activity_date,
        sum(purchases) as purchases,
        sum(net_amount) as net_amount,
        sum(gross_amount) as gross_amount,
        sum(refunds) as refunds,
        sum(cancels) as cancels,
        sum(visits) as visits,
        sum(product_views) as product_views,
        sum(add_to_cart) as add_to_cart,
        sum(searches) as searches,
        sum(logins) as logins,
        sum(feature_uses) as feature_uses,
        sum(content_views) as content_views,
        sum(events) as events
    from (
        select * from orders
        union all
        select * from events
    ) as both_sources
    group by anchor_node, activity_date
)

select * from final
