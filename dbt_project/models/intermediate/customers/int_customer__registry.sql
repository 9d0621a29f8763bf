{#- Every customer (identity with a purchase or a membership by the end of the window) and the
    first day each fact about them became true, so as-of checks need no join per day. -#}
with identity as (
    select node, id_type, customer_id, first_seen
    from {{ ref('identity_map') }}
    where valid_to is null
),

-- first purchase per identifier tuple, then per customer (one pass over the orders)
purchases as (
    select customers.customer_id, min(tuples.first_purchase_date) as first_purchase_date
    from (
        select o.signature, min(o.order_date) as first_purchase_date
        from {{ ref('int_orders') }} as o
        where o.is_purchase = 1
            and o.order_date < {{ window_end() }}
        group by o.signature
    ) as tuples
    join {{ ref('int_identity__signature_customers') }} as customers
        on customers.signature = tuples.signature
    group by customers.customer_id
),

memberships as (
    select identity.customer_id, min(members.file_date) as first_member_date
    from {{ ref('stg_lake__members') }} as members
    join identity on identity.node = {{ node_key('member_id', 'members.member_id') }}
    where members.file_date < {{ window_end() }}
    group by identity.customer_id
),

contacts as (
    select
        customer_id,
        min(first_seen) as customer_since,
        min(case when id_type = 'phone' then first_seen end) as first_phone_date,
        min(case when id_type = 'email' then first_seen end) as first_email_date,
        min(case when id_type in ('openid', 'unionid') then first_seen end) as first_wechat_date,
        min(case when id_type = 'device_id' then first_seen end) as first_app_date
    from identity
    group by customer_id
),

final as (
    select
        contacts.*,
        purchases.first_purchase_date,
        memberships.first_member_date,
        case
            when memberships.first_member_date is null then purchases.first_purchase_date
            when purchases.first_purchase_date is null then memberships.first_member_date
            when purchases.first_purchase_date < memberships.first_member_date then purchases.first_purchase_date
            else memberships.first_member_date
        end as customer_from
    from contacts
    left join purchases on purchases.customer_id = contacts.customer_id
    left join memberships on memberships.customer_id = contacts.customer_id
    where purchases.customer_id is not null or memberships.customer_id is not null
)

select * from final
