{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
) }}
{#- One row per customer and as_of_date in the run window: RFM plus the retail extensions
    (AOV, category preference, channel mix, visits) and reachability. Only what was known by the
    end of as_of_date counts. Customers are identities with a purchase or a membership by then. -#}
{%- set windows = var('recency_windows') %}
with days as (
    {{ window_days() }}
),

identity as (
    select node, id_type, customer_id, valid_from, valid_to
    from {{ ref('identity_map') }}
),

activity as (
    select
        days.as_of_date,
        identity.customer_id,
        a.*
    from {{ ref('int_activity__daily') }} as a
    join identity on identity.node = a.anchor_node
    join days
        on a.activity_date <= days.as_of_date
        and identity.valid_from <= days.as_of_date
        and (identity.valid_to is null or days.as_of_date < identity.valid_to)
),

rfm as (
    select
        as_of_date,
        customer_id,
        min(case when purchases > 0 then activity_date end) as first_order_date,
        max(case when purchases > 0 then activity_date end) as last_order_date,
        max(case when visits > 0 then activity_date end) as last_visit_date,
        sum(purchases) as orders_total,
        sum(net_amount) as monetary_total,
        {%- for w in windows %}
        sum(case when activity_date > {{ dbt.dateadd('day', -w, 'as_of_date') }} then purchases else 0 end) as orders_{{ w }}d,
        sum(case when activity_date > {{ dbt.dateadd('day', -w, 'as_of_date') }} then net_amount else 0 end) as monetary_{{ w }}d,
        sum(case when activity_date > {{ dbt.dateadd('day', -w, 'as_of_date') }} then visits else 0 end) as visits_{{ w }}d,
        {%- endfor %}
        sum(case when activity_date > {{ dbt.dateadd('day', -365, 'as_of_date') }} then refunds else 0 end) as refunds_365d,
        sum(case when activity_date > {{ dbt.dateadd('day', -365, 'as_of_date') }} then cancels else 0 end) as cancels_365d,
        sum(case when activity_date > {{ dbt.dateadd('day', -30, 'as_of_date') }} then product_views else 0 end) as product_views_30d,
        sum(case when activity_date > {{ dbt.dateadd('day', -30, 'as_of_date') }} then add_to_cart else 0 end) as add_to_cart_30d,
        sum(case when activity_date > {{ dbt.dateadd('day', -30, 'as_of_date') }} then searches else 0 end) as searches_30d,
        sum(case when activity_date > {{ dbt.dateadd('day', -30, 'as_of_date') }} then events else 0 end) as events_30d,
        sum(case when activity_date > {{ dbt.dateadd('day', -30, 'as_of_date') }} and events > 0 then 1 else 0 end) as active_days_30d
    from activity
    group by as_of_date, customer_id
),

mix as (
    select
        days.as_of_date,
        identity.customer_id,
        m.dimension,
        m.value,
        sum(m.purchases) as purchases,
        sum(m.net_amount) as net_amount
    from {{ ref('int_activity__mix_daily') }} as m
    join identity on identity.node = m.anchor_node
    join days
        on m.activity_date <= days.as_of_date
        and m.activity_date > {{ dbt.dateadd('day', -365, 'days.as_of_date') }}
        and identity.valid_from <= days.as_of_date
        and (identity.valid_to is null or days.as_of_date < identity.valid_to)
    group by days.as_of_date, identity.customer_id, m.dimension, m.value
),

mix_ranked as (
    select
        mix.*,
        row_number() over (
            partition by as_of_date, customer_id, dimension
            order by purchases desc, net_amount desc, value
        ) as rank_in_dimension,
        sum(purchases) over (partition by as_of_date, customer_id, dimension) as dimension_purchases
    from mix
),

mix_wide as (
    select
        as_of_date,
        customer_id,
        max(case when dimension = 'category' and rank_in_dimension = 1 then value end) as top_category_365d,
        sum(case when dimension = 'category' then 1 else 0 end) as categories_365d,
        max(case when dimension = 'channel' and rank_in_dimension = 1 then value end) as main_channel_365d,
        sum(case when dimension = 'channel' then 1 else 0 end) as channels_365d,
        max(case when dimension = 'channel' and rank_in_dimension = 1
                 then cast(purchases as {{ type_double() }}) / dimension_purchases end) as main_channel_share_365d
    from mix_ranked
    group by as_of_date, customer_id
),

membership as (
    select
        days.as_of_date,
        identity.customer_id,
        members.level,
        members.registered_date,
        members.optin_sms,
        members.optin_email,
        members.optin_wechat,
        members.optin_app_push,
        row_number() over (
            partition by days.as_of_date, identity.customer_id
            order by members.updated_at desc, members.file_date desc, members.member_key
        ) as recency_rank
    from {{ ref('stg_lake__members') }} as members
    join identity on identity.node = {{ node_key('member_id', 'members.member_id') }}
    join days
        on members.file_date <= days.as_of_date
        and identity.valid_from <= days.as_of_date
        and (identity.valid_to is null or days.as_of_date < identity.valid_to)
),

reach as (
    select
        days.as_of_date,
        identity.customer_id,
        max(case when identity.id_type = 'phone' then 1 else 0 end) as has_phone,
        max(case when identity.id_type = 'email' then 1 else 0 end) as has_email,
        max(case when identity.id_type in ('openid', 'unionid') then 1 else 0 end) as has_wechat,
        max(case when identity.id_type = 'device_id' then 1 else 0 end) as has_app,
        min(identity.valid_from) as customer_since
    from identity
    join days
        on identity.valid_from <= days.as_of_date
        and (identity.valid_to is null or days.as_of_date < identity.valid_to)
    group by days.as_of_date, identity.customer_id
),

members_now as (
    select * from membership where recency_rank = 1
),

customers as (
    select as_of_date, customer_id from rfm where orders_total > 0
    union
    select as_of_date, customer_id from members_now
),

final as (
    select
        customers.as_of_date,
        customers.customer_id,
        reach.customer_since,
        cast({{ dbt.datediff('reach.customer_since', 'customers.as_of_date', 'day') }} as integer) as days_since_first_seen,
        rfm.first_order_date,
        rfm.last_order_date,
        cast({{ dbt.datediff('rfm.first_order_date', 'customers.as_of_date', 'day') }} as integer) as days_since_first_order,
        cast({{ dbt.datediff('rfm.last_order_date', 'customers.as_of_date', 'day') }} as integer) as days_since_last_order,
        cast(coalesce(rfm.orders_total, 0) as integer) as orders_total,
        {%- for w in windows %}
        cast(coalesce(rfm.orders_{{ w }}d, 0) as integer) as orders_{{ w }}d,
        {%- endfor %}
        cast(coalesce(rfm.monetary_total, 0) as {{ type_double() }}) as monetary_total,
        {%- for w in windows %}
        cast(coalesce(rfm.monetary_{{ w }}d, 0) as {{ type_double() }}) as monetary_{{ w }}d,
        {%- endfor %}
        cast(case when rfm.orders_total > 0 then rfm.monetary_total / rfm.orders_total end as {{ type_double() }}) as aov_total,
        cast(case when rfm.orders_365d > 0 then rfm.monetary_365d / rfm.orders_365d end as {{ type_double() }}) as aov_365d,
        cast(coalesce(rfm.refunds_365d, 0) as integer) as refunds_365d,
        cast(coalesce(rfm.cancels_365d, 0) as integer) as cancels_365d,
        cast(case when rfm.orders_365d + rfm.refunds_365d > 0
             then cast(rfm.refunds_365d as {{ type_double() }}) / (rfm.orders_365d + rfm.refunds_365d)
        end as {{ type_double() }}) as refund_rate_365d,
        rfm.last_visit_date,
        cast({{ dbt.datediff('rfm.last_visit_date', 'customers.as_of_date', 'day') }} as integer) as days_since_last_visit,
        {%- for w in windows %}
        cast(coalesce(rfm.visits_{{ w }}d, 0) as integer) as visits_{{ w }}d,
        {%- endfor %}
        cast(coalesce(rfm.product_views_30d, 0) as integer) as product_views_30d,
        cast(coalesce(rfm.add_to_cart_30d, 0) as integer) as add_to_cart_30d,
        cast(coalesce(rfm.searches_30d, 0) as integer) as searches_30d,
        cast(coalesce(rfm.events_30d, 0) as integer) as events_30d,
        cast(coalesce(rfm.active_days_30d, 0) as integer) as active_days_30d,
        mix_wide.top_category_365d,
        cast(coalesce(mix_wide.categories_365d, 0) as integer) as categories_365d,
        mix_wide.main_channel_365d,
        cast(coalesce(mix_wide.channels_365d, 0) as integer) as channels_365d,
        cast(mix_wide.main_channel_share_365d as {{ type_double() }}) as main_channel_share_365d,
        cast(case when members_now.customer_id is not null then 1 else 0 end as integer) as is_member,
        members_now.level as member_level,
        members_now.registered_date,
        coalesce(members_now.optin_sms, false) as optin_sms,
        coalesce(members_now.optin_email, false) as optin_email,
        coalesce(members_now.optin_wechat, false) as optin_wechat,
        coalesce(members_now.optin_app_push, false) as optin_app_push,
        cast(coalesce(reach.has_phone, 0) as integer) as has_phone,
        cast(coalesce(reach.has_email, 0) as integer) as has_email,
        cast(coalesce(reach.has_wechat, 0) as integer) as has_wechat,
        cast(coalesce(reach.has_app, 0) as integer) as has_app
    from customers
    left join rfm
        on rfm.as_of_date = customers.as_of_date and rfm.customer_id = customers.customer_id
    left join mix_wide
        on mix_wide.as_of_date = customers.as_of_date and mix_wide.customer_id = customers.customer_id
    left join members_now
        on members_now.as_of_date = customers.as_of_date and members_now.customer_id = customers.customer_id
    left join reach
        on reach.as_of_date = customers.as_of_date and reach.customer_id = customers.customer_id
)

select * from final
