{#- Purchases by channel and net spend by category per anchor and day, for channel mix and
    category preference. A view over int_orders (kept from night to night): its one reader
    (int_customer_features__mix) only needs the last 365 days. -#}
{{ config(materialized='view') }}
with signatures as (
    select distinct signature, anchor_node from {{ ref('int_identity__signatures') }}
),

purchases as (
    select o.*, signatures.anchor_node
    from {{ ref('int_orders') }} as o
    join signatures on signatures.signature = {{ identity_signature('o.') }}
    where o.is_purchase = 1
),

by_channel as (
    select
        anchor_node,
        order_date as activity_date,
        'channel' as dimension,
        channel as value,
        count(*) as purchases,
        sum(net_amount) as net_amount
    from purchases
    group by anchor_node, order_date, channel
),

by_category as (
    select
        p.anchor_node,
        p.order_date as activity_date,
        'category' as dimension,
        l.category as value,
        count(distinct p.order_key) as purchases,
        sum(l.line_amount - l.refund_amount) as net_amount
    from purchases as p
    join {{ ref('stg_lake__order_lines') }} as l
        on l.order_key = p.order_key
        and l.file_date = p.file_date
        and l.status <> 'cancelled'
    group by p.anchor_node, p.order_date, l.category
)

select * from by_channel
union all
select * from by_category
