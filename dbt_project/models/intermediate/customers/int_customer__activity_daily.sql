{#- Activity per customer and day: orders and behaviour events attributed to customers through
    their identifier tuple (int_identity__signature_customers, the identity map as it stands at
    the end of the window), in one pass over the two tables kept from night to night. -#}
with customers as (
    select signature, customer_id from {{ ref('int_identity__signature_customers') }}
),

orders as (
    select
        customers.customer_id,
        o.order_date as activity_date,
        sum(o.is_purchase) as purchases,
        sum(case when o.is_purchase = 1 then o.net_amount else 0 end) as net_amount,
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
    join customers on customers.signature = {{ identity_signature('o.') }}
    group by customers.customer_id, o.order_date
),

events as (
    select
        customers.customer_id,
        e.activity_date,
        0 as purchases,
        0 as net_amount,
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
    join customers on customers.signature = e.signature
    where e.file_date < {{ window_end() }}
    group by customers.customer_id, e.activity_date
),

final as (
    select
        customer_id,
        activity_date,
        sum(purchases) as purchases,
        sum(net_amount) as net_amount,
        sum(refunds) as refunds,
        sum(cancels) as cancels,
        sum(visits) as visits,
        sum(product_views) as product_views,
        sum(add_to_cart) as add_to_cart,
        sum(searches) as searches,
        sum(logins) as logins,
        sum(feature_uses) as feature_uses,
        sum(content_views) as content_views,
        sum(events) as events,
        case when sum(events) > 0 then 1 else 0 end as active_days
    from (
        select * from orders
        union all
        select * from events
    ) as both_sources
    where activity_date < {{ window_end() }}
    group by customer_id, activity_date
)

select * from final
