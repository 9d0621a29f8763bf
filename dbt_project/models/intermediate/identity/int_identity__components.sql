{{ config(post_hook="{{ drop_connected_components_scratch() }}") }}
{#- Connected components of the usable identifiers as of the end of the window: a component is
    one customer, labelled by its oldest identifier (smallest node_num). -#}
{%- set nodes_sql -%}
    select node_num from {{ ref('int_identity__nodes') }} where link_status = 'ok'
{%- endset %}
{%- set edges_sql -%}
    select src, dst from {{ ref('int_identity__edges') }}
{%- endset %}
with components as (
    {{ connected_components(nodes_sql, edges_sql) }}
),

final as (
    select
        node_num,
        component_num,
        count(*) over (partition by component_num) as component_size
    from components
)

select * from final
