{#- Exact connected components in portable SQL (joins, group by, left joins; no recursion).

    connected_components(): hook-and-contract rounds. Every node with edges hooks to its smallest
    neighbour (or itself); pointer jumping flattens the hooks into stars; the edges are relabelled
    with the star roots and self-loops dropped. Each round shrinks the graph to a fraction of its
    size, so after a handful of rounds nothing is left; the labels are composed back to every node.
    Every label is the smallest node number of the component.

    connected_components_over_time(): the same clusters, but for every day. Edges carry the day
    they appeared; each node keeps its staircase of (label, since): the smallest node number it is
    connected to from that day on. Labels spread along edges (since = the later of the two days) and
    jump through the label's own staircase, and only rows no other row beats on both label and day
    are kept. The loop ends when no new row appears.

    Both run their steps through run_query while the model compiles (execute = true), using
    scratch tables next to the model, and return the final select. The result scratch table is
    dropped by drop_connected_components_scratch() in the model's post-hook. -#}

{% macro connected_components(nodes_sql, edges_sql, max_rounds=40) %}
  {%- if not execute -%}
    select cast(null as bigint) as node_num, cast(null as bigint) as component_num
  {%- else -%}
    {#- round 1 reads the caller's edges as they are (duplicates and self-loops do no harm) -#}
    {%- set ns = namespace(edges='(' ~ edges_sql ~ ')', rounds=0, done=false) -%}
    {%- set hooks = [] -%}
    {%- for r in range(1, max_rounds + 1) -%}
      {%- set hook = _cc_relation('hook_' ~ r) -%}
      {%- do _cc_create(hook,
            'select src as node_num, case when min(dst) < src then min(dst) else src end as parent'
            ~ ' from ' ~ ns.edges ~ ' as e group by src') -%}
      {%- set hook = _cc_flatten(hook, max_rounds) -%}
      {%- do hooks.append(hook) -%}
      {%- set nxt = _cc_relation('edges_' ~ r) -%}
      {%- set contract -%}
        select distinct a.parent as src, b.parent as dst
        from {{ ns.edges }} as e
        join {{ hook }} as a on a.node_num = e.src
        join {{ hook }} as b on b.node_num = e.dst
        where a.parent <> b.parent
      {%- endset -%}
      {%- do _cc_create(nxt, contract) -%}
      {%- if r > 1 -%}{%- do adapter.drop_relation(ns.edges) -%}{%- endif -%}
      {%- set ns.edges = nxt -%}
      {%- set ns.rounds = r -%}
      {%- if _cc_count(nxt) == 0 -%}
        {%- set ns.done = true -%}
        {%- break -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do adapter.drop_relation(ns.edges) -%}
    {%- if not ns.done -%}
      {{ exceptions.raise_compiler_error(
          "connected_components did not finish in " ~ max_rounds ~ " rounds") }}
    {%- endif -%}
    {#- compose the hooks of all rounds: node → root of round 1 → root of round 2 … -#}
    {%- set labels = _cc_relation('result') -%}
    {%- set cs = namespace(previous='(select node_num, node_num as component_num from (' ~ nodes_sql ~ ') as n)') -%}
    {%- for h in hooks -%}
      {%- set target = labels if loop.last else _cc_relation('compose_' ~ loop.index) -%}
      {%- do _cc_create(target,
            'select l.node_num, coalesce(h.parent, l.component_num) as component_num from '
            ~ cs.previous ~ ' as l left join ' ~ h ~ ' as h on h.node_num = l.component_num') -%}
      {%- if not loop.first -%}{%- do adapter.drop_relation(cs.previous) -%}{%- endif -%}
      {%- do adapter.drop_relation(h) -%}
      {%- set cs.previous = target -%}
    {%- endfor -%}
    {{ log("connected_components finished after " ~ ns.rounds ~ " rounds", info=true) }}
    select node_num, component_num from {{ labels }}
  {%- endif -%}
{% endmacro %}

{#- Pointer jumping: parent := parent's parent until every node points at a root. Returns the
    relation holding the result (two scratch tables take turns, nothing is copied). -#}
{% macro _cc_flatten(hook, max_steps) -%}
  {%- set fs = namespace(current=hook) -%}
  {%- for i in range(max_steps) -%}
    {%- set nxt = _cc_relation(hook.identifier.split('__cc_')[-1] ~ '_j' ~ (i % 2)) -%}
    {%- set jump -%}
      select a.node_num, coalesce(b.parent, a.parent) as parent,
             case when b.parent is not null and b.parent <> a.parent then 1 else 0 end as moved
      from {{ fs.current }} as a
      left join {{ fs.current }} as b on b.node_num = a.parent
    {%- endset -%}
    {%- do _cc_create(nxt, jump) -%}
    {%- do adapter.drop_relation(fs.current) -%}
    {%- set fs.current = nxt -%}
    {%- if run_query('select count(*) from ' ~ nxt ~ ' where moved = 1').columns[0].values()[0] == 0 -%}
      {%- break -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(fs.current) }}
{%- endmacro %}

{#- nodes_sql: node_num, since. edges_sql: src, dst, since (both directions). Returns node_num,
    component_num, since: from `since` on, node_num belongs to the component of component_num
    (the smallest node number it is connected to by then), until the node's next row. -#}
{% macro connected_components_over_time(nodes_sql, edges_sql, max_iterations=60) %}
  {%- if not execute -%}
    select cast(null as bigint) as node_num, cast(null as bigint) as component_num,
           cast(null as date) as since
  {%- else -%}
    {%- set edges_rel = _cc_relation('tedges') -%}
    {%- do _cc_create(edges_rel, edges_sql) -%}
    {%- set first = _cc_relation('stairs_0') -%}
    {%- do _cc_create(first, 'select node_num, node_num as label, since from (' ~ nodes_sql ~ ') as n') -%}
    {%- set ns = namespace(current=first, converged=false, iterations=0) -%}
    {%- for i in range(1, max_iterations + 1) -%}
      {%- set nxt = _cc_relation('stairs_' ~ i) -%}
      {%- set step -%}
        with candidates as (
            select node_num, label, since from {{ ns.current }}
            union all
            select e.dst as node_num, s.label,
                   case when e.since > s.since then e.since else s.since end as since
            from {{ edges_rel }} as e
            join {{ ns.current }} as s on s.node_num = e.src
            union all
            select s.node_num, t.label,
                   case when t.since > s.since then t.since else s.since end as since
            from {{ ns.current }} as s
            join {{ ns.current }} as t on t.node_num = s.label
            where t.label < s.label
        ),
        earliest as (
            select node_num, label, min(since) as since
            from candidates
            group by node_num, label
        ),
        ranked as (
            select node_num, label, since,
                   min(label) over (
                       partition by node_num order by since, label
                       rows between unbounded preceding and 1 preceding
                   ) as best_before
            from earliest
        )
        select node_num, label, since
        from ranked
        where best_before is null or label < best_before
      {%- endset -%}
      {%- do _cc_create(nxt, step) -%}
      {%- set added = run_query(
            'select count(*) from ' ~ nxt ~ ' as n left join ' ~ ns.current ~ ' as c'
            ~ ' on c.node_num = n.node_num and c.label = n.label and c.since = n.since'
            ~ ' where c.node_num is null'
          ).columns[0].values()[0] -%}
      {%- do adapter.drop_relation(ns.current) -%}
      {%- set ns.current = nxt -%}
      {%- set ns.iterations = i -%}
      {%- if added == 0 -%}
        {%- set ns.converged = true -%}
        {%- break -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do adapter.drop_relation(edges_rel) -%}
    {%- if not ns.converged -%}
      {{ exceptions.raise_compiler_error(
          "connected_components_over_time did not converge in " ~ max_iterations ~ " iterations") }}
    {%- endif -%}
    {{ log("connected_components_over_time converged after " ~ ns.iterations ~ " iterations", info=true) }}
    {%- set result = _cc_relation('result') -%}
    {%- do _cc_create(result, 'select node_num, label as component_num, since from ' ~ ns.current) -%}
    {%- do adapter.drop_relation(ns.current) -%}
    select node_num, component_num, since from {{ result }}
  {%- endif -%}
{% endmacro %}

{#- parent_sql: node_num, parent (parent < node_num, a forest). Returns node_num, root for every
    node of parent_sql: the end of its chain of parents. -#}
{% macro flatten_forest(parent_sql, max_steps=60) %}
  {%- if not execute -%}
    select cast(null as bigint) as node_num, cast(null as bigint) as root
  {%- else -%}
    {%- set forest = _cc_relation('forest') -%}
    {%- do _cc_create(forest, 'select node_num, parent from (' ~ parent_sql ~ ') as p') -%}
    {%- set flat = _cc_flatten(forest, max_steps) -%}
    {%- set roots = _cc_relation('roots') -%}
    {%- do _cc_create(roots, 'select node_num, parent as root from ' ~ flat) -%}
    {%- do adapter.drop_relation(flat) -%}
    select node_num, root from {{ roots }}
  {%- endif -%}
{% endmacro %}

{% macro _cc_count(relation) -%}
  {{ return(run_query('select count(*) from ' ~ relation).columns[0].values()[0]) }}
{%- endmacro %}

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
    {%- do adapter.drop_relation(_cc_relation('result')) -%}
    {%- do adapter.drop_relation(_cc_relation('roots')) -%}
  {%- endif -%}
{%- endmacro %}
