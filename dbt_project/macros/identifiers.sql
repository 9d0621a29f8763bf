{#- Identifier normalisation, in SQL so it runs on any engine. Values that mean "unknown"
    become null and therefore link nothing. -#}

{% macro regexp_replace_all(expr, pattern, replacement) -%}
  {{ return(adapter.dispatch('regexp_replace_all', 'tierops')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
  regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro duckdb__regexp_replace_all(expr, pattern, replacement) -%}
  regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro postgres__regexp_replace_all(expr, pattern, replacement) -%}
  regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- A trimmed, lower-cased value that means "unknown" (dbt_project.yml var
    junk_identifier_values), or an empty/whitespace-only one. -#}
{% macro is_junk_identifier(expr) -%}
  (
    trim({{ expr }}) = ''
    or lower(trim({{ expr }})) in (
      {%- for v in var('junk_identifier_values') %}'{{ v }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
  )
{%- endmacro %}

{% macro junk_to_null(expr) -%}
  case when {{ is_junk_identifier(expr) }} then null else trim({{ expr }}) end
{%- endmacro %}

{#- Chinese mobile numbers: keep digits, drop a leading 86 country code, require 11 digits
    starting with 1. Anything else is not a usable phone. -#}
{% macro normalize_phone(expr) -%}
  case
    when length({{ regexp_replace_all(expr, '[^0-9]', '') }}) = 13
         and {{ regexp_replace_all(expr, '[^0-9]', '') }} like '861%'
      then substring({{ regexp_replace_all(expr, '[^0-9]', '') }}, 3, 11)
    when length({{ regexp_replace_all(expr, '[^0-9]', '') }}) = 11
         and {{ regexp_replace_all(expr, '[^0-9]', '') }} like '1%'
      then {{ regexp_replace_all(expr, '[^0-9]', '') }}
  end
{%- endmacro %}

{% macro normalize_email(expr) -%}
  case
    when lower(trim({{ expr }})) like '%_@_%._%' and lower(trim({{ expr }})) not like '% %'
      then lower(trim({{ expr }}))
  end
{%- endmacro %}

{% macro normalize_id(expr) -%}
  {{ junk_to_null(expr) }}
{%- endmacro %}

{#- Normalisation of one identifier column by type: phone, email or an opaque id. -#}
{% macro normalize_identifier(id_type, expr) -%}
  {%- if id_type == 'phone' -%}{{ normalize_phone(expr) }}
  {%- elif id_type == 'email' -%}{{ normalize_email(expr) }}
  {%- else -%}{{ normalize_id(expr) }}
  {%- endif -%}
{%- endmacro %}

{#- Every canonical identifier column (`<prefix><type>`) normalised, as `<type>` columns: the
    single place staging models turn raw identifiers into linkable ones. -#}
{% macro normalized_identifiers(prefix='id_') -%}
  {%- for t in identifier_types() %}
        {{ normalize_identifier(t, prefix ~ t) }} as {{ t }}{% if not loop.last %},{% endif %}
  {%- endfor %}
{%- endmacro %}

{#- Node key of an identifier: `type:value`, null when the value is unusable. -#}
{% macro node_key(id_type, expr) -%}
  case when {{ expr }} is not null then {{ dbt.concat(["'" ~ id_type ~ ":'", expr]) }} end
{%- endmacro %}

{% macro identifier_types() -%}
  {{ return(['phone', 'email', 'openid', 'unionid', 'member_id', 'buyer_id', 'device_id']) }}
{%- endmacro %}

{#- Which of two hub candidates is cut first when they point at each other: types that people
    share more often come first (a counter phone before the member cards typed with it). -#}
{% macro hub_type_rank(expr) -%}
  case {{ expr }}
    {%- for t in ['phone', 'device_id', 'email', 'openid', 'unionid', 'buyer_id', 'member_id'] %}
    when '{{ t }}' then {{ loop.index }}
    {%- endfor %}
    else 99
  end
{%- endmacro %}

{#- The exact identifier tuple a record carries: records with equal signatures are the same
    observation for stitching, so events collapse from tens of millions to distinct tuples. -#}
{% macro identity_signature(prefix='') -%}
  {%- set parts = [] -%}
  {%- for t in identifier_types() -%}
    {%- do parts.append("coalesce(" ~ prefix ~ t ~ ", '')") -%}
    {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
  {%- endfor -%}
  {{ dbt.concat(parts) }}
{%- endmacro %}

{#- Customer id from the component's oldest identifier: `C` + 12 hex digits in groups of four
    (C5f0e-29ab-7c31). Stable as long as that identifier stays in the component; the groups keep
    it from ever looking like a phone number in an exported file. -#}
{% macro customer_id_from(expr) -%}
  {%- set h = dbt.hash(expr) -%}
  {{ dbt.concat(["'C'", "substring(" ~ h ~ ", 1, 4)", "'-'", "substring(" ~ h ~ ", 5, 4)", "'-'", "substring(" ~ h ~ ", 9, 4)"]) }}
{%- endmacro %}
