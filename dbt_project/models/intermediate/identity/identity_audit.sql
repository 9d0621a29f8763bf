{#- What the identity guards cut and why; nothing is dropped silently.
    blocked              value on the blocklist (config/identity.yaml)
    hub                  linked to more distinct identifiers of one type than max_partners_per_type
    component_too_large  in a component bigger than max_component_size: left unstitched
    unusable_value       raw values that normalise to nothing (empty, null-like, placeholder,
                         not an 11-digit mobile, not an e-mail address), counted per feed -#}
{%- set max_partners = identity_setting('max_partners_per_type', 2) %}
{%- set max_size = identity_setting('max_component_size', 200) %}
with guarded as (
    select
        'blocked' as reason,
        id_type,
        node,
        'on the blocklist in config/identity.yaml' as detail,
        cast(null as {{ dbt.type_string() }}) as feed,
        sightings as records,
        first_seen,
        last_seen
    from {{ ref('int_identity__nodes') }}
    where link_status = 'blocked'
    union all
    select
        'hub' as reason,
        id_type,
        node,
        {{ dbt.concat([
            "'linked to '", "cast(max_partners_of_one_type as " ~ dbt.type_string() ~ ")",
            "' distinct '", "busiest_partner_type", "' identifiers (limit " ~ max_partners ~ ")'"]) }} as detail,
        cast(null as {{ dbt.type_string() }}) as feed,
        sightings as records,
        first_seen,
        last_seen
    from {{ ref('int_identity__nodes') }}
    where link_status = 'hub'
),

oversized as (
    select
        'component_too_large' as reason,
        nodes.id_type,
        nodes.node,
        {{ dbt.concat([
            "'component of '", "cast(components.component_size as " ~ dbt.type_string() ~ ")",
            "' identifiers (limit " ~ max_size ~ "): not stitched'"]) }} as detail,
        cast(null as {{ dbt.type_string() }}) as feed,
        nodes.sightings as records,
        nodes.first_seen,
        nodes.last_seen
    from {{ ref('int_identity__components') }} as components
    join {{ ref('int_identity__nodes') }} as nodes on nodes.node_num = components.node_num
    where components.component_size > {{ max_size }}
),

unusable as (
    select
        'unusable_value' as reason,
        id_type,
        cast(null as {{ dbt.type_string() }}) as node,
        {{ dbt.concat(["'e.g. '", "min(example)"]) }} as detail,
        feed,
        cast(sum(records) as {{ dbt.type_bigint() }}) as records,
        min(file_date) as first_seen,
        max(file_date) as last_seen
    from {{ ref('int_identity__unusable_daily') }}
    where file_date < {{ window_end() }}
        and id_type is not null
    group by feed, id_type
),

final as (
    select * from guarded
    union all
    select * from oversized
    union all
    select * from unusable
)

select
    reason,
    id_type,
    node,
    detail,
    feed,
    records,
    first_seen,
    last_seen,
    cast({{ window_last_day() }} as date) as as_of_date
from final
