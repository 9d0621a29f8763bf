{#- Rolling RFM and behaviour counts per customer, at every day they change.

    Instead of re-aggregating history for every day, each day's activity adds itself to the
    totals and leaves each N-day window N days later; a running sum over these changes, on top
    of an opening balance for the day before the window, gives the values at each change point.
    customer_features carries them forward to every day. Cost grows with activity rows, not
    with customers × days. -#}
{%- set features = [
    ('purchases', 0), ('purchases', 30), ('purchases', 90), ('purchases', 365),
    ('net_amount', 0), ('net_amount', 30), ('net_amount', 90), ('net_amount', 365),
    ('refunds', 365), ('cancels', 365),
    ('visits', 30), ('visits', 90), ('visits', 365),
    ('product_views', 30), ('add_to_cart', 30), ('searches', 30), ('events', 30), ('active_days', 30),
    ('logins', 30), ('feature_uses', 30), ('content_views', 30), ('content_views', 365),
] %}
{%- set windows = features | map(attribute=1) | reject('equalto', 0) | unique | list %}
{%- set names = {} %}
{%- for m, w in features %}{% do names.update({m ~ w: m ~ '_' ~ (w ~ 'd' if w else 'total')}) %}{% endfor %}
{%- set over = running('customer_id', 'd') %}
with registry as (
    select customer_id, customer_from from {{ ref('int_customer__registry') }}
),

activity as (
    select a.*
    from {{ ref('int_customer__activity_daily') }} as a
    join registry on registry.customer_id = a.customer_id
),

opening as (
    select
        customer_id,
        {{ add_days(-1, window_start()) }} as d,
        {%- for m, w in features %}
        sum({% if w %}case when activity_date >= {{ add_days(-w, window_start()) }} then {{ m }} else 0 end{% else %}{{ m }}{% endif %}) as {{ names[m ~ w] }},
        {%- endfor %}
        min(case when purchases > 0 then activity_date end) as first_order_date,
        max(case when purchases > 0 then activity_date end) as last_order_date,
        max(case when visits > 0 then activity_date end) as last_visit_date
    from activity
    where activity_date < {{ window_start() }}
    group by customer_id
),

changes as (
    select
        customer_id,
        activity_date as d,
        {%- for m, w in features %}
        {{ m }} as {{ names[m ~ w] }},
        {%- endfor %}
        case when purchases > 0 then activity_date end as first_order_date,
        case when purchases > 0 then activity_date end as last_order_date,
        case when visits > 0 then activity_date end as last_visit_date
    from activity
    where activity_date >= {{ window_start() }}
    {%- for w in windows %}
    union all
    select
        customer_id,
        {{ add_days(w, 'activity_date') }} as d,
        {%- for m, fw in features %}
        {% if fw == w %}-{{ m }}{% else %}0{% endif %} as {{ names[m ~ fw] }},
        {%- endfor %}
        cast(null as date) as first_order_date,
        cast(null as date) as last_order_date,
        cast(null as date) as last_visit_date
    from activity
    where activity_date >= {{ add_days(-w, window_start()) }}
        and activity_date < {{ add_days(-w, window_end()) }}
    {%- endfor %}
),

points as (
    select
        customer_id,
        d,
        {%- for m, w in features %}
        sum({{ names[m ~ w] }}) as {{ names[m ~ w] }},
        {%- endfor %}
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        max(last_visit_date) as last_visit_date
    from (
        select * from opening
        union all
        select * from changes
    ) as stacked
    where d < {{ window_end() }}
    group by customer_id, d
)

select
    customer_id,
    d,
    {%- for m, w in features %}
    sum({{ names[m ~ w] }}) {{ over }} as {{ names[m ~ w] }},
    {%- endfor %}
    min(first_order_date) {{ over }} as first_order_date,
    max(last_order_date) {{ over }} as last_order_date,
    max(last_visit_date) {{ over }} as last_visit_date
from points
