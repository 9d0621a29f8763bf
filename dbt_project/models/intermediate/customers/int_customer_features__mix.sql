{#- Category preference and channel mix over the last 365 days, per customer, at every day
    they can change: a day when some purchase enters or leaves the 365-day window.
    customer_features carries them forward to the days in between. Reads only the purchases of
    the 365 days before the window and the window itself, and their categories from
    int_order_categories (kept from night to night) instead of the raw order lines. -#}
{#- categories are joined on their order's delivery day: none before the earliest one of these
    purchases (a literal, so the scan of int_order_categories skips older rows) -#}
{%- set categories_from = none %}
{%- if execute %}
  {%- set categories_from = run_query(
        "select cast(min(file_date) as " ~ dbt.type_string() ~ ") from " ~ ref('int_orders')
        ~ " where is_purchase = 1 and order_date < " ~ window_end()
        ~ " and order_date >= " ~ add_days(-365, window_start())).columns[0].values()[0] %}
{%- endif %}
with registry as (
    select customer_id, customer_from from {{ ref('int_customer__registry') }}
),

purchases as (
    select o.order_key, o.file_date, o.order_date, o.channel, o.net_amount, customers.customer_id
    from {{ ref('int_orders') }} as o
    join {{ ref('int_identity__signature_customers') }} as customers
        on customers.signature = o.signature
    join registry on registry.customer_id = customers.customer_id
    where o.is_purchase = 1
        and o.order_date < {{ window_end() }}
        and o.order_date >= {{ add_days(-365, window_start()) }}
),

mix as (
    select
        customer_id,
        order_date as activity_date,
        'channel' as dimension,
        channel as value,
        count(*) as purchases,
        sum(net_amount) as net_amount
    from purchases
    group by customer_id, order_date, channel
    union all
    select
        p.customer_id,
        p.order_date as activity_date,
        'category' as dimension,
        c.category as value,
        -- one row per order and category (int_order_categories is grouped so, and the join on
        -- the order's delivery picks one delivery): counting rows counts distinct orders
        count(*) as purchases,
        sum(c.net_amount) as net_amount
    from purchases as p
    join {{ ref('int_order_categories') }} as c
        on c.order_key = p.order_key
        and c.file_date = p.file_date
    {%- if categories_from %}
    where c.file_date >= cast('{{ categories_from }}' as date)
    {%- endif %}
    group by p.customer_id, p.order_date, c.category
),

deltas as (
    select customer_id, dimension, value, d, sum(purchases) as purchases, sum(net_amount) as net_amount
    from (
        select customer_id, dimension, value, {{ add_days(-1, window_start()) }} as d, purchases, net_amount
        from mix
        where activity_date < {{ window_start() }}
        union all
        select customer_id, dimension, value, activity_date as d, purchases, net_amount
        from mix
        where activity_date >= {{ window_start() }}
        union all
        select customer_id, dimension, value, {{ add_days(365, 'activity_date') }} as d, -purchases, -net_amount
        from mix
        where activity_date < {{ add_days(-365, window_end()) }}
    ) as all_changes
    group by customer_id, dimension, value, d
),

points as (
    select distinct customer_id, d from deltas
),

customer_values as (
    select distinct customer_id, dimension, value from deltas
),

running_totals as (
    select
        points.customer_id,
        points.d,
        customer_values.dimension,
        customer_values.value,
        sum(coalesce(deltas.purchases, 0)) {{ running('points.customer_id, customer_values.dimension, customer_values.value', 'points.d') }} as purchases,
        sum(coalesce(deltas.net_amount, 0)) {{ running('points.customer_id, customer_values.dimension, customer_values.value', 'points.d') }} as net_amount
    from points
    join customer_values on customer_values.customer_id = points.customer_id
    left join deltas
        on deltas.customer_id = points.customer_id
        and deltas.d = points.d
        and deltas.dimension = customer_values.dimension
        and deltas.value = customer_values.value
),

ranked as (
    select
        running_totals.*,
        row_number() over (
            partition by customer_id, d, dimension order by purchases desc, net_amount desc, value
        ) as rank_in_dimension,
        sum(case when purchases > 0 then 1 else 0 end) over (partition by customer_id, d, dimension) as values_used,
        sum(purchases) over (partition by customer_id, d, dimension) as dimension_purchases
    from running_totals
),

final as (
    select
        customer_id,
        d,
        max(case when dimension = 'category' and rank_in_dimension = 1 and purchases > 0 then value end) as top_category_365d,
        max(case when dimension = 'category' then values_used else 0 end) as categories_365d,
        max(case when dimension = 'channel' and rank_in_dimension = 1 and purchases > 0 then value end) as main_channel_365d,
        max(case when dimension = 'channel' then values_used else 0 end) as channels_365d,
        max(case when dimension = 'channel' and rank_in_dimension = 1 and purchases > 0
                 then cast(purchases as {{ type_double() }}) / dimension_purchases end) as main_channel_share_365d
    from ranked
    where d < {{ window_end() }}
    group by customer_id, d
)

select * from final
