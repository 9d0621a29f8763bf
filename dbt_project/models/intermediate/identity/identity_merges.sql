{#- Every merge of two customers: on merged_on a record linked an identifier of the absorbed
    customer (via_identifier) to one of the surviving customer's side (linked_identifier); the
    older customer id survives. Derived from identity_map's history, so re-runs and backfills
    record the same merges on the same days. -#}
with steps as (
    select
        node_num,
        valid_from as merged_on,
        label_num as surviving_num,
        customer_id as surviving_customer_id,
        lag(label_num) over (partition by node_num order by valid_from) as absorbed_num,
        lag(customer_id) over (partition by node_num order by valid_from) as absorbed_customer_id
    from {{ ref('identity_map') }}
),

events as (
    select distinct merged_on, absorbed_num, absorbed_customer_id, surviving_num, surviving_customer_id
    from steps
    where absorbed_num is not null
),

-- identifiers of the records first seen on a merge day, with their customer the day before
record_nodes as (
    select
        s.signature,
        s.node,
        s.first_seen as linked_on,
        m.label_num as label_before
    from {{ ref('int_identity__signatures') }} as s
    left join {{ ref('identity_map') }} as m
        on m.node = s.node
        and m.valid_from < s.first_seen
        and (m.valid_to is null or m.valid_to >= s.first_seen)
    where s.first_seen in (select merged_on from events)
),

causes as (
    select
        events.merged_on,
        events.absorbed_num,
        absorbed.signature,
        min(absorbed.node) as via_identifier,
        -- prefer an identifier that already belonged to a customer over one new that day
        coalesce(
            min(case when other.label_before is not null then other.node end), min(other.node)
        ) as linked_identifier
    from events
    join record_nodes as absorbed
        on absorbed.linked_on = events.merged_on
        and absorbed.label_before = events.absorbed_num
    left join record_nodes as other
        on other.signature = absorbed.signature
        and other.linked_on = absorbed.linked_on
        and (other.label_before is null or other.label_before <> events.absorbed_num)
    group by events.merged_on, events.absorbed_num, absorbed.signature
),

first_cause as (
    select
        causes.*,
        row_number() over (
            partition by merged_on, absorbed_num
            order by case when linked_identifier is null then 1 else 0 end, signature
        ) as cause_rank
    from causes
),

final as (
    select
        events.merged_on,
        events.absorbed_customer_id,
        events.surviving_customer_id,
        first_cause.via_identifier,
        first_cause.linked_identifier,
        first_cause.signature as via_record_signature
    from events
    left join first_cause
        on first_cause.merged_on = events.merged_on
        and first_cause.absorbed_num = events.absorbed_num
        and first_cause.cause_rank = 1
)

select * from final
