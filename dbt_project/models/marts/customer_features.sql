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

registry as (
    select * from {{ ref('int_customer__registry') }}
),

rolling_points as (
    select * from {{ ref('int_customer_features__rolling') }}
),

mix_points as (
    select * from {{ ref('int_customer_features__mix') }}
),

membership_points as (
    select * from {{ ref('int_customer_features__membership') }}
),

subscription_points as (
    select * from {{ ref('int_customer_features__subscription') }}
),

-- every customer and every day of the window since they became a customer
grid as (
    select registry.customer_id, days.as_of_date as d
    from registry
    join days on days.as_of_date >= registry.customer_from
),

-- for each grid day, the latest change point of each state at or before it
marked as (
    select customer_id, d, 1 as row_kind from rolling_points
    union all
    select customer_id, d, 2 as row_kind from mix_points
    union all
    select customer_id, d, 3 as row_kind from membership_points
    union all
    select customer_id, d, 4 as row_kind from subscription_points
    union all
    select customer_id, d, 9 as row_kind from grid
),

latest as (
    select
        customer_id,
        d,
        row_kind,
        max(case when row_kind = 1 then d end) {{ running('customer_id', 'd, row_kind') }} as rolling_date,
        max(case when row_kind = 2 then d end) {{ running('customer_id', 'd, row_kind') }} as mix_date,
        max(case when row_kind = 3 then d end) {{ running('customer_id', 'd, row_kind') }} as membership_date,
        max(case when row_kind = 4 then d end) {{ running('customer_id', 'd, row_kind') }} as subscription_date
    from marked
),

base as (
    select customer_id, d as as_of_date, rolling_date, mix_date, membership_date, subscription_date
    from latest
    where row_kind = 9
),

membership as (
    select *, 1 as is_member from membership_points
),

final as (
    select
        base.as_of_date,
        base.customer_id,
        registry.customer_since,
        cast({{ dbt.datediff('registry.customer_since', 'base.as_of_date', 'day') }} as integer) as days_since_first_seen,
        rolling.first_order_date,
        rolling.last_order_date,
        cast({{ dbt.datediff('rolling.first_order_date', 'base.as_of_date', 'day') }} as integer) as days_since_first_order,
        cast({{ dbt.datediff('rolling.last_order_date', 'base.as_of_date', 'day') }} as integer) as days_since_last_order,
        cast(coalesce(rolling.purchases_total, 0) as integer) as orders_total,
        {%- for w in windows %}
        cast(coalesce(rolling.purchases_{{ w }}d, 0) as integer) as orders_{{ w }}d,
        {%- endfor %}
        cast(coalesce(rolling.net_amount_total, 0) as {{ type_double() }}) as monetary_total,
        {%- for w in windows %}
        cast(coalesce(rolling.net_amount_{{ w }}d, 0) as {{ type_double() }}) as monetary_{{ w }}d,
        {%- endfor %}
        cast(case when rolling.purchases_total > 0 then rolling.net_amount_total / rolling.purchases_total end as {{ type_double() }}) as aov_total,
        cast(case when rolling.purchases_365d > 0 then rolling.net_amount_365d / rolling.purchases_365d end as {{ type_double() }}) as aov_365d,
        cast(coalesce(rolling.refunds_365d, 0) as integer) as refunds_365d,
        cast(coalesce(rolling.cancels_365d, 0) as integer) as cancels_365d,
        cast(case when rolling.purchases_365d + rolling.refunds_365d > 0
             then cast(coalesce(rolling.refunds_365d, 0) as {{ type_double() }}) / (rolling.purchases_365d + rolling.refunds_365d)
        end as {{ type_double() }}) as refund_rate_365d,
        rolling.last_visit_date,
        cast({{ dbt.datediff('rolling.last_visit_date', 'base.as_of_date', 'day') }} as integer) as days_since_last_visit,
        {%- for w in windows %}
        cast(coalesce(rolling.visits_{{ w }}d, 0) as integer) as visits_{{ w }}d,
        {%- endfor %}
        cast(coalesce(rolling.product_views_30d, 0) as integer) as product_views_30d,
        cast(coalesce(rolling.add_to_cart_30d, 0) as integer) as add_to_cart_30d,
        cast(coalesce(rolling.searches_30d, 0) as integer) as searches_30d,
        cast(coalesce(rolling.events_30d, 0) as integer) as events_30d,
        cast(coalesce(rolling.active_days_30d, 0) as integer) as active_days_30d,
        cast(coalesce(rolling.logins_30d, 0) as integer) as logins_30d,
        cast(coalesce(rolling.feature_uses_30d, 0) as integer) as feature_uses_30d,
        cast(coalesce(rolling.content_views_30d, 0) as integer) as content_views_30d,
        cast(coalesce(rolling.content_views_365d, 0) as integer) as content_views_365d,
        mix.top_category_365d,
        cast(coalesce(mix.categories_365d, 0) as integer) as categories_365d,
        mix.main_channel_365d,
        cast(coalesce(mix.channels_365d, 0) as integer) as channels_365d,
        cast(mix.main_channel_share_365d as {{ type_double() }}) as main_channel_share_365d,
        cast(coalesce(membership.is_member, 0) as integer) as is_member,
        membership.member_level,
        membership.registered_date,
        coalesce(membership.optin_sms, false) as optin_sms,
        coalesce(membership.optin_email, false) as optin_email,
        coalesce(membership.optin_wechat, false) as optin_wechat,
        coalesce(membership.optin_app_push, false) as optin_app_push,
        cast(coalesce(subscription.active_subscriptions, 0) as integer) as active_subscriptions,
        subscription.subscription_plan,
        cast(coalesce(subscription.seats, 0) as integer) as seats,
        cast(coalesce(subscription.contract_value, 0) as {{ type_double() }}) as contract_value,
        cast(subscription.term_months as integer) as term_months,
        subscription.subscription_start_date,
        subscription.renewal_date,
        cast({{ dbt.datediff('base.as_of_date', 'subscription.renewal_date', 'day') }} as integer) as days_to_renewal,
        cast(case when registry.first_phone_date <= base.as_of_date then 1 else 0 end as integer) as has_phone,
        cast(case when registry.first_email_date <= base.as_of_date then 1 else 0 end as integer) as has_email,
        cast(case when registry.first_wechat_date <= base.as_of_date then 1 else 0 end as integer) as has_wechat,
        cast(case when registry.first_app_date <= base.as_of_date then 1 else 0 end as integer) as has_app
    from base
    join registry on registry.customer_id = base.customer_id
    left join rolling_points as rolling
        on rolling.customer_id = base.customer_id and rolling.d = base.rolling_date
    left join mix_points as mix
        on mix.customer_id = base.customer_id and mix.d = base.mix_date
    left join membership
        on membership.customer_id = base.customer_id and membership.d = base.membership_date
    left join subscription_points as subscription
        on subscription.customer_id = base.customer_id and subscription.d = base.subscription_date
)

select * from final
where orders_total > 0 or is_member = 1
