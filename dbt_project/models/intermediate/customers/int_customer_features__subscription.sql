{#- Subscription / contract state per customer on each day a subscription row arrived (SaaS,
    services). A customer with several subscriptions is summed over the active ones (seats,
    contract value) and takes the nearest renewal; customer_features carries the latest state
    forward. Rows reach a customer through any identifier already known to identity stitching
    (typically the account's member_id). -#}
{%- set id_types = ['member_id', 'email', 'phone', 'buyer_id', 'unionid', 'openid', 'device_id'] %}
with identity as (
    select node, customer_id from {{ ref('identity_map') }} where valid_to is null
),

rows_in_window as (
    select * from {{ ref('stg_lake__subscriptions') }}
    where file_date < {{ window_end() }}
),

linked as (
    select
        coalesce({% for t in id_types %}i_{{ t }}.customer_id{% if not loop.last %}, {% endif %}{% endfor %}) as customer_id,
        s.*
    from rows_in_window as s
    {%- for t in id_types %}
    left join identity as i_{{ t }} on i_{{ t }}.node = {{ node_key(t, 's.' ~ t) }}
    {%- endfor %}
),

-- the state of every subscription as of each day one of the customer's subscriptions changed
change_days as (
    select distinct customer_id, file_date as d from linked where customer_id is not null
),

latest as (
    select
        change_days.customer_id,
        change_days.d,
        linked.subscription_key,
        linked.status,
        linked.plan,
        linked.seats,
        linked.contract_value,
        linked.term_months,
        linked.start_date,
        linked.renewal_date,
        row_number() over (
            partition by change_days.customer_id, change_days.d, linked.subscription_key
            order by linked.file_date desc, linked.updated_at desc, linked.source_row desc
        ) as rank_in_day
    from change_days
    join linked
        on linked.customer_id = change_days.customer_id and linked.file_date <= change_days.d
),

final as (
    select
        customer_id,
        d,
        max(case when status = 'active' then plan end) as subscription_plan,
        cast(sum(case when status = 'active' then 1 else 0 end) as integer) as active_subscriptions,
        cast(sum(case when status = 'active' then seats else 0 end) as integer) as seats,
        sum(case when status = 'active' then contract_value else 0 end) as contract_value,
        max(case when status = 'active' then term_months end) as term_months,
        min(start_date) as subscription_start_date,
        min(case when status = 'active' then renewal_date end) as renewal_date
    from latest
    where rank_in_day = 1
    group by customer_id, d
)

select * from final
