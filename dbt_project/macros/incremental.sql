{#- Incremental models by delivery day (file_date). Lake files never change once a day is
    delivered, except when a run re-ingests the days of its own window, so a model built from
    them only has to look at:
      - the delivery days of the run window (a re-run replaces them), and
      - delivery days the lake has (before the window end) that the model has not seen yet
        (the new day at night; every day on the first build).
    Two shapes use this:
      - per-day facts (one partition per file_date, e.g. int_activity__events_daily): delete the
        days to load, insert them again; readers filter file_date < window end, so partitions of
        later days left by an earlier run are invisible to a re-run of an older day;
      - latest-wins tables (int_orders): rebuild every key delivered on or after the first day to
        load; a re-run of an older day than the table already holds (rewind) rebuilds it all. -#}

{%- macro _distinct_days(sql) -%}
  {%- set rows = run_query(sql) -%}
  {{- return(rows.columns[0].values() | map('string') | list) -}}
{%- endmacro %}

{#- Delivery days (ISO strings, sorted) an incremental model built from `source_relation` has to
    (re)load in this run; the relation `this` must have a file_date column. Only meaningful
    when is_incremental() and execute. The lake is only asked about days outside the range the
    model already holds (and the window), so its files are pruned by their file_date folder; a
    day missing inside that range (files added for a past day without a run covering it) is
    loaded by a run whose window covers it, or by --full-refresh. -#}
{% macro delivery_days_to_load(source_relation, source_filter='1 = 1') -%}
  {%- set have = _distinct_days("select distinct cast(file_date as " ~ dbt.type_string() ~ ") from " ~ this) -%}
  {%- set have = have | reject('in', ['None', '']) | list -%}
  {%- set outside -%}
    {%- if have -%}
    file_date >= {{ window_start() }} or file_date > cast('{{ have | max }}' as date) or file_date < cast('{{ have | min }}' as date)
    {%- else -%}
    1 = 1
    {%- endif -%}
  {%- endset -%}
  {%- set lake = _distinct_days(
        "select distinct cast(file_date as " ~ dbt.type_string() ~ ") from " ~ source_relation
        ~ " where file_date < " ~ window_end() ~ " and (" ~ outside ~ ") and " ~ source_filter) -%}
  {%- set days = [] -%}
  {%- for day in lake -%}
    {%- if day not in have or day >= window_start_literal() %}{% do days.append(day) %}{% endif -%}
  {%- endfor -%}
  {{- return(days | sort) -}}
{%- endmacro %}

{#- `file_date in (...)` for a list of ISO days (never empty SQL). -#}
{% macro file_date_in(days, column='file_date') -%}
  {{ column }} in (
    {%- for day in days %}cast('{{ day }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
    {%- if not days %}cast(null as date){% endif -%}
  )
{%- endmacro %}

{#- Plan of a latest-wins incremental model keyed by something other than file_date:
      {'mode': 'full'}               first build, --full-refresh, or a rewind (the table holds
                                     deliveries on or after the window end): rebuild from all days
      {'mode': 'from', 'from': day}  rebuild every key delivered on or after `day`
      {'mode': 'none'}               nothing new was delivered
    Rows of keys whose deliveries all lie before `from` were built from the same lake rows by an
    earlier run and stay as they are. -#}
{% macro latest_wins_plan(source_relation, required_columns=[]) -%}
  {%- if not (execute and is_incremental()) -%}
    {{- return({'mode': 'full'}) -}}
  {%- endif -%}
  {%- if _missing_columns(required_columns) -%}
    {{- return({'mode': 'full'}) -}}
  {%- endif -%}
  {%- set newest = _distinct_days("select max(cast(file_date as " ~ dbt.type_string() ~ ")) from " ~ this) -%}
  {%- if newest and newest[0] not in ('None', '') and newest[0] >= window_end_literal() -%}
    {{- return({'mode': 'full'}) -}}
  {%- endif -%}
  {%- set days = delivery_days_to_load(source_relation) -%}
  {%- if not days -%}
    {{- return({'mode': 'none'}) -}}
  {%- endif -%}
  {{- return({'mode': 'from', 'from': days[0]}) -}}
{%- endmacro %}

{#- The condition on file_date (after `where ...`, starting with `and`) that reads what a plan
    of latest_wins_plan() asks for: nothing more for 'full', the days from `from` on, no row for
    'none'. -#}
{% macro latest_wins_filter(plan, column='file_date') -%}
  {%- if plan['mode'] == 'from' %}
        and {{ column }} >= cast('{{ plan['from'] }}' as date)
  {%- elif plan['mode'] == 'none' %}
        and 1 = 0
  {%- endif %}
{%- endmacro %}

{#- The order lines of each order's latest delivery before the window end, among the delivery
    days a latest_wins_plan() reads: the one rule int_orders and int_order_categories share, so
    an order's header and its categories always come from the same delivery. -#}
{% macro latest_delivery_lines(plan, columns='*') -%}
{%- set days_read -%}
        from {{ ref('stg_lake__order_lines') }}
        where file_date < {{ window_end() }}
        {{- latest_wins_filter(plan) }}
{%- endset %}
    {#- two subqueries, not one CTE read twice: the CTE would be materialised with every
        column of every line first (30 s instead of 17 s for 14.5 M lines), while the latest
        delivery needs only the keys and days -#}
    select lines.*
    from (
        select {{ columns }}
        {{ days_read }}
    ) as lines
    join (
        select order_key, max(file_date) as file_date
        {{ days_read }}
        group by order_key
    ) as latest_delivery
        on latest_delivery.order_key = lines.order_key
        and latest_delivery.file_date = lines.file_date
{%- endmacro %}

{#- Pre-hook of a latest-wins model: a rewind (the table holds deliveries on or after the window
    end) rebuilds it, so it is emptied first (delete+insert only replaces the keys it inserts);
    so is a table that lacks one of `required_columns`. -#}
{% macro latest_wins_reset(required_columns=[]) -%}
  {{- _reset(required_columns, '(select max(file_date) from ' ~ this ~ ') >= ' ~ window_end()) -}}
{%- endmacro %}

{#- Pre-hook of a per-day model: delete the days of the run window (a re-run replaces them);
    a table that lacks one of `required_columns` is emptied, as the model then reads every day. -#}
{% macro per_day_reset(required_columns=[]) -%}
  {{- _reset(required_columns, 'file_date >= ' ~ window_start() ~ ' and file_date < ' ~ window_end()) -}}
{%- endmacro %}

{#- The pre-hook both shapes share: delete the rows `where` names, or every row when the table
    lacks one of `required_columns` (the model then reads everything again). -#}
{% macro _reset(required_columns, where) -%}
  {%- if execute and is_incremental() -%}
    {%- if _missing_columns(required_columns) -%}
    delete from {{ this }}
    {%- else -%}
    delete from {{ this }} where {{ where }}
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- Columns of `required` the table kept from earlier runs lacks (a column added to the model
    since): such a table is rebuilt whole, so the new column is never left empty on old rows. -#}
{% macro _missing_columns(required) -%}
  {%- if not required -%}{{ return([]) }}{%- endif -%}
  {%- set have = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
  {{- return(required | reject('in', have) | list) -}}
{%- endmacro %}

{#- Delivery days of several lake tables, as a relation for delivery_days_to_load. -#}
{% macro lake_deliveries(tables) -%}
  (
    {%- for table in tables %}
    select file_date from {{ source('lake', table) }} where feed <> '_none'
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
  ) as delivered
{%- endmacro %}
