{#- Net spend per order and product category (non-cancelled lines of the order's latest
    delivery), for category preference. Kept from night to night like int_orders
    (macros/incremental.sql, latest_wins_plan): a run rebuilds the orders delivered on the days it
    loads. Readers join on order_key and file_date, so the rows of an earlier delivery that a
    re-delivery made obsolete never match. -#}
{%- set plan = latest_wins_plan(ref('stg_lake__order_lines')) %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='order_key',
    on_schema_change='append_new_columns',
    pre_hook="{{ latest_wins_reset() }}",
) }}
with current_lines as (
    {{ latest_delivery_lines(plan, 'order_key, file_date, status, category, line_amount, refund_amount') }}
),

final as (
    select
        order_key,
        file_date,
        category,
        sum(line_amount - refund_amount) as net_amount
    from current_lines
    where status <> 'cancelled'
    group by order_key, file_date, category
)

select * from final
