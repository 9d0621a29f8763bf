{#- Each observed identifier tuple (signature) → the customer it belongs to at the end of the
    window, through its anchor. Activity (orders, events) is attributed to customers with one
    join on this table. -#}
with anchors as (
    select distinct signature, anchor_node from {{ ref('int_identity__signatures') }}
),

identity as (
    select node, customer_id from {{ ref('identity_map') }} where valid_to is null
),

final as (
    select anchors.signature, anchors.anchor_node, identity.customer_id
    from anchors
    join identity on identity.node = anchors.anchor_node
)

select * from final
