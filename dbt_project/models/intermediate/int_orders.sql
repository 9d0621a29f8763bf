{#- Order grain across channels. A re-delivered order (same key in a later file) replaces the
    earlier delivery; nothing delivered after the run window is visible.

    Incremental (macros/incremental.sql, latest_wins_plan): a run rebuilds only the orders with
    a line delivered on or after the first day it has to load (the new day at night), from
    those days' lines alone: an order's latest delivery before the window end is among them.
    A re-run of a day older than the newest delivery in the table rebuilds the table. -#}
{#- a table kept from before `signature` existed is rebuilt once -#}
{%- set plan = latest_wins_plan(ref('stg_lake__order_lines'), required_columns=['signature']) %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='order_key',
    on_schema_change='append_new_columns',
    pre_hook="{{ latest_wins_reset(required_columns=['signature']) }}",
) }}
with current_lines as (
    {{ latest_delivery_lines(plan) }}
),

orders as (
    select
        order_key,
        min(order_id) as order_id,
        min(channel) as channel,
        min(feed) as feed,
        min(file_date) as file_date,
        min(order_ts) as order_ts,
        min(order_date) as order_date,
        min(store_id) as store_id,
        count(*) as line_count,
        sum(case when status = 'cancelled' then 1 else 0 end) as cancelled_lines,
        sum(case when status <> 'cancelled' then line_amount else 0 end) as gross_amount,
        sum(case when status <> 'cancelled' then refund_amount else 0 end) as refund_amount,
        max(phone) as phone,
        max(email) as email,
        max(openid) as openid,
        max(unionid) as unionid,
        max(member_id) as member_id,
        max(buyer_id) as buyer_id,
        max(device_id) as device_id
    from current_lines
    group by order_key
),

final as (
    select
        *,
        gross_amount - refund_amount as net_amount,
        case
            when cancelled_lines = line_count then 'cancelled'
            when refund_amount >= gross_amount and gross_amount > 0 then 'refunded'
            when refund_amount > 0 then 'partially_refunded'
            else 'paid'
        end as order_status,
        case
            when cancelled_lines < line_count and gross_amount - refund_amount > 0 then 1 else 0
        end as is_purchase,
        -- the identifier tuple, computed once here for every reader that attributes orders
        {{ identity_signature() }} as signature
    from orders
)

select * from final
