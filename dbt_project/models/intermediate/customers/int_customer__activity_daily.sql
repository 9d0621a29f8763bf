{#- Activity per customer and day: anchor activity mapped through the identity map as it stands
    at the end of the window. -#}
with identity as (
    select node, customer_id
    from {{ ref('identity_map') }}
    where valid_to is null
),

final as (
    select
        identity.customer_id,
        a.activity_date,
        sum(a.purchases) as purchases,
        sum(a.net_amount) as net_amount,
        sum(a.refunds) as refunds,
        sum(a.cancels) as cancels,
        sum(a.visits) as visits,
        sum(a.product_views) as product_views,
        sum(a.add_to_cart) as add_to_cart,
        sum(a.searches) as searches,
        sum(a.logins) as logins,
        sum(a.feature_uses) as feature_uses,
        sum(a.content_views) as content_views,
        sum(a.events) as events,
        case when sum(a.events) > 0 then 1 else 0 end as active_days
    from {{ ref('int_activity__daily') }} as a
    join identity on identity.node = a.anchor_node
    where a.activity_date < {{ window_end() }}
    group by identity.customer_id, a.activity_date
)

select * from final
