{#- Rolling RFM and behaviour counts per customer, at every day they change.

    Instead of re-aggregating history for every day, each day's activity adds itself to the
    totals and leaves each N-day window N days later; a running sum over these changes, on top
    of an opening balance for the day before the window, gives the values at each change point.
    customer_features carries them forward to every day.

    Orders (int_orders) and events (int_activity__events_daily) are attributed to customers
    through their identifier tuple (int_identity__signature_customers, the identity map at the
    end of the window). The opening balance is summed per tuple first and attributed once per
    tuple, in one pass over the orders and the longest window's events; only the days that
    change a value inside the window (activity in the window, and the activity N days earlier
    that leaves an N-day window) are attributed day by day. A nightly run (one-day window)
    reads those few days, not a table of every customer's every day. Cost grows with
    activity rows, not with customers × days. -#}
{%- set features = [
    ('purchases', 0), ('purchases', 30), ('purchases', 90), ('purchases', 365),
    ('net_amount', 0), ('net_amount', 30), ('net_amount', 90), ('net_amount', 365),
    ('refunds', 365), ('cancels', 365),
    ('visits', 30), ('visits', 90), ('visits', 365),
    ('product_views', 30), ('add_to_cart', 30), ('searches', 30), ('events', 30), ('active_days', 30),
    ('logins', 30), ('feature_uses', 30), ('content_views', 30), ('content_views', 365),
] %}
{%- set order_metrics = ['purchases', 'net_amount', 'refunds', 'cancels'] %}
{%- set event_metrics = ['visits', 'product_views', 'add_to_cart', 'searches', 'logins', 'feature_uses', 'content_views', 'events'] %}
{%- set windows = features | map(attribute=1) | reject('equalto', 0) | unique | list %}
{%- set names = {} %}
{%- for m, w in features %}{% do names.update({m ~ w: m ~ '_' ~ (w ~ 'd' if w else 'total')}) %}{% endfor %}
{%- set over = running('customer_id', 'd') %}
{#- events older than the longest event window only tell the last visit (none if some event
    metric counts all history) -#}
{%- set event_windows = features | selectattr(0, 'in', event_metrics) | map(attribute=1) | list %}
{%- set longest_event_window = none if 0 in event_windows else event_windows | max %}
{%- set longest_active_window = features | selectattr(0, 'equalto', 'active_days') | map(attribute=1) | max %}
{#- opening balance of each tuple-level feature: its metric over the window before the window
    start (all history for window 0); active days are counted per customer instead -#}
{%- set tuple_features = features | rejectattr(0, 'equalto', 'active_days') | list %}
{%- set opening_sum = {} %}
{%- for m, w in tuple_features %}
{%- do opening_sum.update({m ~ w: 'sum(' ~ ('case when activity_date >= ' ~ add_days(-w, window_start()) ~ ' then ' ~ m ~ ' else 0 end' if w else m) ~ ')'}) %}
{%- endfor %}
{#- orders and events as subqueries, not CTEs: each use keeps its own filters (a CTE read
    several times would be materialised whole first) -#}
{%- set orders %}
    select
        o.signature,
        o.order_date as activity_date,
        o.is_purchase as purchases,
        case when o.is_purchase = 1 then o.net_amount else 0 end as net_amount,
        case when o.order_status in ('refunded', 'partially_refunded') then 1 else 0 end as refunds,
        case when o.order_status = 'cancelled' then 1 else 0 end as cancels
    from {{ ref('int_orders') }} as o
    where o.order_date < {{ window_end() }}
{%- endset %}
{%- set events %}
    select signature, activity_date, {{ event_metrics | join(', ') }}
    from {{ ref('int_activity__events_daily') }}
    where file_date < {{ window_end() }}
        and activity_date < {{ window_end() }}
{%- endset %}
with registry as (
    select customer_id from {{ ref('int_customer__registry') }}
),

customers as (
    select sc.signature, sc.customer_id
    from {{ ref('int_identity__signature_customers') }} as sc
    join registry on registry.customer_id = sc.customer_id
),

-- the opening balance (the day before the window), per identifier tuple, then per customer;
-- every branch lists the same columns in the same order, its own metrics summed, others 0
tuple_opening as (
    select
        signature,
        {%- for m, w in tuple_features %}
        {{ opening_sum[m ~ w] if m in order_metrics else 0 }} as {{ names[m ~ w] }},
        {%- endfor %}
        min(case when purchases > 0 then activity_date end) as first_order_date,
        max(case when purchases > 0 then activity_date end) as last_order_date,
        cast(null as date) as last_visit_date
    from ({{ orders }}) as orders
    where activity_date < {{ window_start() }}
    group by signature
    union all
    select
        signature,
        {%- for m, w in tuple_features %}
        {{ opening_sum[m ~ w] if m in event_metrics else 0 }} as {{ names[m ~ w] }},
        {%- endfor %}
        cast(null as date) as first_order_date,
        cast(null as date) as last_order_date,
        max(case when visits > 0 then activity_date end) as last_visit_date
    from ({{ events }}) as events
    where activity_date < {{ window_start() }}
    {%- if longest_event_window %}
        and activity_date >= {{ add_days(-longest_event_window, window_start()) }}
    {%- endif %}
    group by signature
    {%- if longest_event_window %}
    union all
    -- older events only tell the last visit
    select
        signature,
        {%- for m, w in tuple_features %}
        0 as {{ names[m ~ w] }},
        {%- endfor %}
        cast(null as date) as first_order_date,
        cast(null as date) as last_order_date,
        max(case when visits > 0 then activity_date end) as last_visit_date
    from ({{ events }}) as events
    where activity_date < {{ add_days(-longest_event_window, window_start()) }}
    group by signature
    {%- endif %}
),

-- days with events in each window: distinct days per customer (two tuples of one customer
-- active on the same day count once)
active_opening as (
    select
        customers.customer_id,
        {%- for m, w in features if m == 'active_days' %}
        count(distinct case when events.activity_date >= {{ add_days(-w, window_start()) }} then events.activity_date end) as {{ names[m ~ w] }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from ({{ events }}) as events
    join customers on customers.signature = events.signature
    where events.activity_date < {{ window_start() }}
        and events.activity_date >= {{ add_days(-longest_active_window, window_start()) }}
        and events.events > 0
    group by customers.customer_id
),

opening as (
    select
        customer_id,
        {{ add_days(-1, window_start()) }} as d,
        {%- for m, w in features %}
        {%- if m == 'active_days' %}
        cast(0 as bigint) as {{ names[m ~ w] }},
        {%- else %}
        sum({{ names[m ~ w] }}) as {{ names[m ~ w] }},
        {%- endif %}
        {%- endfor %}
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        max(last_visit_date) as last_visit_date
    from tuple_opening
    join customers on customers.signature = tuple_opening.signature
    group by customer_id
    union all
    select
        customer_id,
        {{ add_days(-1, window_start()) }} as d,
        {%- for m, w in features %}
        {%- if m == 'active_days' %}
        {{ names[m ~ w] }},
        {%- else %}
        0 as {{ names[m ~ w] }},
        {%- endif %}
        {%- endfor %}
        cast(null as date) as first_order_date,
        cast(null as date) as last_order_date,
        cast(null as date) as last_visit_date
    from active_opening
),

-- activity per customer and day, only on the days that change a value in the window
activity as (
    select
        customers.customer_id,
        both_sources.activity_date,
        {%- for m in order_metrics + event_metrics %}
        sum({{ m }}) as {{ m }},
        {%- endfor %}
        case when sum(events) > 0 then 1 else 0 end as active_days
    from (
        select signature, activity_date,
            {%- for m in order_metrics %} {{ m }},{% endfor %}
            {%- for m in event_metrics %} 0 as {{ m }}{% if not loop.last %},{% endif %}{% endfor %}
        from ({{ orders }}) as orders
        union all
        select signature, activity_date,
            {%- for m in order_metrics %} 0 as {{ m }},{% endfor %}
            {%- for m in event_metrics %} {{ m }}{% if not loop.last %},{% endif %}{% endfor %}
        from ({{ events }}) as events
    ) as both_sources
    join customers on customers.signature = both_sources.signature
    where both_sources.activity_date >= {{ window_start() }}
    {%- for w in windows %}
        or (both_sources.activity_date >= {{ add_days(-w, window_start()) }}
            and both_sources.activity_date < {{ add_days(-w, window_end()) }})
    {%- endfor %}
    group by customers.customer_id, both_sources.activity_date
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
