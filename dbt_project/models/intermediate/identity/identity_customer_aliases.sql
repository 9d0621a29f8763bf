{#- Every customer id that ever existed and was later merged into another → the customer id that
    holds its identifiers now. Join stored history through it (tier snapshots, contact history):
    coalesce(aliases.customer_id, history.customer_id) is the customer as of today. -#}
with roots as (
    -- a customer id is born as the first period of its oldest identifier
    select
        node_num,
        customer_id as old_customer_id,
        valid_to as merged_on
    from {{ ref('identity_map') }}
    where label_num = node_num
        and valid_to is not null
),

current_customer as (
    select node_num, customer_id
    from {{ ref('identity_map') }}
    where valid_to is null
),

final as (
    select roots.old_customer_id, current_customer.customer_id, roots.merged_on
    from roots
    join current_customer on current_customer.node_num = roots.node_num
)

select * from final
