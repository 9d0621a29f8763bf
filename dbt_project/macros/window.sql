{#- The run window [start, end) comes from the environment, not --vars, so that dbt's partial
    parsing survives from one partition to the next. Dagster sets both for every run; by hand the
    default is yesterday. -#}

{% macro window_start_literal() -%}
  {%- set default = (modules.datetime.date.today() - modules.datetime.timedelta(days=1)).isoformat() -%}
  {{- env_var('TIEROPS_WINDOW_START', default) -}}
{%- endmacro %}

{% macro window_end_literal() -%}
  {%- set default = modules.datetime.date.today().isoformat() -%}
  {{- env_var('TIEROPS_WINDOW_END', default) -}}
{%- endmacro %}

{% macro window_start() -%}
  cast('{{ window_start_literal() }}' as date)
{%- endmacro %}

{% macro window_end() -%}
  cast('{{ window_end_literal() }}' as date)
{%- endmacro %}

{#- Last day of the window (inclusive), the "as of" day of single-day outputs. -#}
{% macro window_last_day() -%}
  {{ dbt.dateadd('day', -1, window_end()) }}
{%- endmacro %}

{#- One row per as_of_date in the window. -#}
{% macro window_days() -%}
  select cast(date_day as date) as as_of_date
  from ({{ dbt.date_spine('day', window_start(), window_end()) }}) as spine
{%- endmacro %}

{#- date + n days as a date on every engine (dbt.dateadd returns a timestamp on some). -#}
{% macro add_days(n, expr) -%}
  cast({{ dbt.dateadd('day', n, expr) }} as date)
{%- endmacro %}

{#- Running value per customer up to and including the current row, in date order. -#}
{% macro running(partition, order) -%}
  over (partition by {{ partition }} order by {{ order }} rows between unbounded preceding and current row)
{%- endmacro %}

{#- A data test's `where` may say __window_start__ / __window_end__: replaced at run time (not
    at parse time, which would bake one night's window into the manifest), so tests on the raw
    staging views check the rows of the run window instead of all history every night. Overrides
    dbt's default__get_where_subquery (root project macros take precedence). -#}
{% macro default__get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where -%}
    {%- set where = where | replace('__window_start__', window_start()) | replace('__window_end__', window_end()) -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
