{#- Operator config (config/*.yaml) reaches dbt as JSON in environment variables, set by the
    Dagster asset that runs dbt. Reading env vars (not --vars) keeps partial parsing alive. -#}

{% macro identity_setting(key, default) -%}
  {%- set cfg = fromjson(env_var('TIEROPS_IDENTITY_CONFIG', '{}')) -%}
  {{- return(cfg.get(key, default)) -}}
{%- endmacro %}

{% macro sql_string_list(values) -%}
  {%- if values | length == 0 -%}('')
  {%- else -%}({% for v in values %}'{{ v | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
  {%- endif -%}
{%- endmacro %}

{#- 8-byte floating point for amounts and shares (dbt's type_float() is 4 bytes on some engines). -#}
{% macro type_double() -%}
  {{ return(adapter.dispatch('type_double', 'tierops')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}
{% macro postgres__type_double() -%}double precision{%- endmacro %}
{% macro bigquery__type_double() -%}float64{%- endmacro %}
