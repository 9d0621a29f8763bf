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
with lines as (
    select order_key, file_date, status, category, line_amount, refund_amount
    from {{ ref('stg_lake__order_lines') }}
    where file_date < {{ window_end() }}
    {{- latest_wins_filter(plan) }}
),

latest_delivery as (
    select order_key, max(file_date) as file_date
    from lines
    group by order_key
),

final as (
    select
        lines.order_key,
        lines.file_date,
        lines.category,
        sum(lines.line_amount - lines.refund_amount) as net_amount
    from lines
    join latest_delivery
        on latest_delivery.order_key = lines.order_key
        and latest_delivery.file_date = lines.file_date
    where lines.status <> 'cancelled'
    group by lines.order_key, lines.file_date, lines.category
)

select * from final
