{#- Exact connected components by min-label propagation with pointer jumping, in portable SQL.

    Each iteration gives every node the smallest label among itself and its neighbours, then
    jumps each label to its label's label. Labels only shrink and are always node numbers of the
    same component, so the loop ends when nothing changes, with every node labelled by the
    smallest node number of its component. Iterations grow with log(diameter), not with size.

    Runs its iterations through run_query while the model compiles (execute = true), using scratch
    tables next to the model, and returns the final select. The scratch tables are dropped by
    drop_connected_components_scratch() in the model's post-hook. -#}

{% macro connected_components(nodes_sql, edges_sql, max_iterations=60) %}
  {%- if not execute -%}
    select cast(null as bigint) as node_num, cast(null as bigint) as component_num
  {%- else -%}
    {%- set edges_rel = _cc_relation('edges') -%}
    {%- set nodes_rel = _cc_relation('nodes') -%}
    {%- do _cc_create(edges_rel, edges_sql) -%}
    {%- do _cc_create(nodes_rel, nodes_sql) -%}
    {%- set labels = _cc_relation('labels_0') -%}
    {%- do _cc_create(labels, 'select node_num, node_num as label from ' ~ nodes_rel) -%}
    {%- set ns = namespace(current=labels, converged=false, iterations=0) -%}
    {%- for i in range(1, max_iterations + 1) -%}
      {%- set nxt = _cc_relation('labels_' ~ i) -%}
      {%- set step -%}
        with neighbour_min as (
            select e.src as node_num, min(l.label) as label
            from {{ edges_rel }} as e
            join {{ ns.current }} as l on l.node_num = e.dst
            group by e.src
        ),
        hooked as (
            select
                l.node_num,
                case when n.label is not null and n.label < l.label then n.label else l.label end as label
            from {{ ns.current }} as l
            left join neighbour_min as n on n.node_num = l.node_num
        )
        select h.node_num,
               case when j.label < h.label then j.label else h.label end as label
        from hooked as h
        join hooked as j on j.node_num = h.label
      {%- endset -%}
      {%- do _cc_create(nxt, step) -%}
      {%- set changed = run_query(
            'select count(*) from ' ~ nxt ~ ' as n join ' ~ ns.current
            ~ ' as c on c.node_num = n.node_num where c.label <> n.label'
          ).columns[0].values()[0] -%}
      {%- do adapter.drop_relation(ns.current) -%}
      {%- set ns.current = nxt -%}
      {%- set ns.iterations = i -%}
      {%- if changed == 0 -%}
        {%- set ns.converged = true -%}
        {%- break -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if not ns.converged -%}
      {{ exceptions.raise_compiler_error(
          "connected_components did not converge in " ~ max_iterations ~ " iterations") }}
    {%- endif -%}
    {{ log("connected_components converged after " ~ ns.iterations ~ " iterations", info=true) }}
    {%- set result = _cc_relation('result') -%}
    {%- do _cc_create(result, 'select node_num, label as component_num from ' ~ ns.current) -%}
    {%- do adapter.drop_relation(ns.current) -%}
    select node_num, component_num from {{ result }}
  {%- endif -%}
{% endmacro %}

{% macro _cc_relation(suffix) -%}
  {{ return(api.Relation.create(
      database=this.database, schema=this.schema, identifier=this.identifier ~ '__cc_' ~ suffix,
      type='table')) }}
{%- endmacro %}

{% macro _cc_create(relation, sql) -%}
  {%- do adapter.drop_relation(relation) -%}
  {%- call statement('cc_' ~ relation.identifier) -%}
    {{ get_create_table_as_sql(false, relation, sql) }}
  {%- endcall -%}
{%- endmacro %}

{% macro drop_connected_components_scratch() -%}
  {%- if execute -%}
    {%- for suffix in ['edges', 'nodes', 'result'] -%}
      {%- do adapter.drop_relation(_cc_relation(suffix)) -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}
