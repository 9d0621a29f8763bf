"""Who gets which action on a day: triggers, eligibility, cadence and holdout, all in SQL.

A run replaces the ledger and funnel rows of its whole window (delete + insert), so re-running
a day never counts a contact twice. What does not depend on earlier contacts is decided once for
the whole window, set-based: the customers' columns, the triggers of actions that do not read
`days_since_last_contact`, and the gates (consent, contact point, quiet period). Only the
frequency cap (and triggers reading `days_since_last_contact`) go one day after the other,
because a day's cap depends on what the days before it issued; each day is one statement over
the day's open candidates and the contacts issued so far (two small work tables), plus one that
appends the day's contacts. The ledger and the funnel are then written in bulk.
The statements are written in DuckDB SQL and transpiled by sqlglot for other warehouses.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlglot
from sqlglot import exp

from tierops.strategies.channels import CHANNELS
from tierops.strategies.config import EVENT_COLUMNS, PlannedAction, Strategy
from tierops.strategies.holdout import holdout_key_sql, threshold_hex

# contact_group: 'treatment' (contacted) or 'holdout' (selected, deliberately not contacted).
LEDGER_DDL = """
create table if not exists contact_ledger (
    issued_date date not null,
    customer_id varchar not null,
    action_id varchar not null,
    tier_code varchar not null,
    channel varchar not null,
    template_id varchar not null,
    contact_group varchar not null,
    strategy_version varchar not null,
    reason varchar
)
"""

# One row per day, action and decision: how many customers a trigger selected and why some
# were not contacted (no_consent, no_contact, quiet_period, frequency_cap) or held out.
FUNNEL_DDL = """
create table if not exists action_funnel (
    as_of_date date not null,
    action_id varchar not null,
    tier_code varchar not null,
    channel varchar not null,
    decision varchar not null,
    customers bigint not null
)
"""

DECISIONS = ("no_consent", "no_contact", "quiet_period", "frequency_cap", "holdout", "treatment")
FRACTIONAL_TYPES = ("double", "float", "decimal", "numeric", "real")


def _surviving_id(alias: str) -> str:
    """A customer id stored in history (tier snapshots, the contact ledger) as it is today: ids
    merged into another customer since are mapped through identity_customer_aliases (`a`)."""
    return f"coalesce(a.customer_id, {alias}.customer_id)"


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def _d(day: date) -> str:
    return f"date '{day.isoformat()}'"


def evidence_sql(action: PlannedAction, column_types: dict[str, str], alias: str) -> str:
    """`days_since_last_visit=34; visits_30d=0`: the values the trigger looked at."""
    types = {**column_types, **EVENT_COLUMNS}
    pieces = []
    for i, column in enumerate(sorted(action.trigger.columns)):
        ref = f"{alias}.{column}"
        if any(t in types.get(column, "").lower() for t in FRACTIONAL_TYPES):
            ref = f"round({ref}, 2)"
        prefix = ("; " if i else "") + column + "="
        pieces.append(f"{_lit(prefix)} || coalesce(cast({ref} as varchar), 'null')")
    return " || ".join(pieces) if pieces else "''"


# Work tables of a run (temporary, per connection):
#   action_base      the columns the actions read, per customer with a tier and day
#   action_pool      every candidate of the actions whose trigger ignores earlier contacts,
#                    with the gate that blocks it (null: open)
#   action_open      the open ones of action_pool, in date order (read day by day)
#   action_waiting   base rows of the tiers whose actions read days_since_last_contact
#   action_issued    contacts issued so far (surviving customer id, channel, date): the ledger
#                    before the window, then every decided day of it
#   action_decided   every decision of the window except the blocked pool rows
DECIDED_DDL = """
create or replace temp table action_decided (
    issued_date date not null,
    customer_id varchar not null,
    tier_code varchar not null,
    action_id varchar not null,
    channel varchar not null,
    template_id varchar not null,
    reason varchar,
    decision varchar not null
)
"""


def _uses_contacts(action: PlannedAction) -> bool:
    return "days_since_last_contact" in action.trigger.columns


def _uses_previous_tier(actions: list[PlannedAction]) -> bool:
    return any({"entered_tier_today", "previous_tier_code"} & a.trigger.columns for a in actions)


def _tiers(actions: list[PlannedAction]) -> str:
    return ", ".join(_lit(t) for t in sorted({a.tier_code for a in actions}))


def base_sql(actions: list[PlannedAction], start: date, end: date) -> str:
    """The columns the actions read, for every customer with a tier the actions target on every
    day of the window, in one scan of the features."""
    needed = {"days_since_last_order"}
    for a in actions:
        channel = CHANNELS[a.channel]
        needed |= {channel.consent_column, channel.reachable_column}
        needed |= set(a.trigger.columns) - set(EVENT_COLUMNS)
    features = ",\n        ".join(f"f.{c}" for c in sorted(needed))
    window = f"as_of_date >= {_d(start - timedelta(days=1))} and t.as_of_date < {_d(end)}"
    if _uses_previous_tier(actions):
        # yesterday's tier of the customer; when the customer id itself has no row yesterday,
        # the tier of ids merged into it since (identity_customer_aliases), the smallest code
        previous = f"""previous_direct as (
    select cast(t.as_of_date + interval 1 day as date) as next_date, t.customer_id, t.tier_code
    from tier_assignments as t
    where t.is_primary and t.{window}
        and not exists (
            select 1 from identity_customer_aliases as a where a.old_customer_id = t.customer_id
        )
),
previous_merged as (
    select
        cast(t.as_of_date + interval 1 day as date) as next_date,
        a.customer_id,
        min(t.tier_code) as tier_code
    from tier_assignments as t
    inner join identity_customer_aliases as a on a.old_customer_id = t.customer_id
    where t.is_primary and t.{window}
    group by t.as_of_date, a.customer_id
),"""
        previous_tier = "coalesce(pd.tier_code, pm.tier_code)"
        joins = """
    left join previous_direct as pd
        on pd.customer_id = t.customer_id and pd.next_date = t.as_of_date
    left join previous_merged as pm
        on pm.customer_id = t.customer_id and pm.next_date = t.as_of_date"""
    else:
        previous, previous_tier, joins = "", "cast(null as varchar)", ""
    return f"""create or replace temp table action_base as
with {previous}
final as (
    select
        t.as_of_date,
        t.customer_id,
        t.tier_code,
        coalesce({previous_tier}, '') as previous_tier_code,
        case when {previous_tier} = t.tier_code then 0 else 1 end as entered_tier_today,
        {features}
    from tier_assignments as t
    inner join customer_features as f
        on f.customer_id = t.customer_id and f.as_of_date = t.as_of_date{joins}
    where t.is_primary and t.as_of_date >= {_d(start)} and t.as_of_date < {_d(end)}
        and t.tier_code in ({_tiers(actions)})
)
select * from final"""


def _selects(actions: list[PlannedAction], column_types: dict[str, str]) -> str:
    """One select per action over `base` (alias b): tier, trigger, segment and gate inputs."""
    selects = []
    for a in actions:
        channel = CHANNELS[a.channel]
        trigger = a.trigger.render("duckdb", lambda name: exp.column(name, table="b"))
        consent = (
            f"coalesce(b.{channel.consent_column}, false)"
            if a.eligibility.require_consent
            else "true"
        )
        contact = (
            f"coalesce(b.{channel.reachable_column}, 0) = 1"
            if a.eligibility.require_contact
            else "true"
        )
        quiet = a.cadence.quiet_days_after_purchase
        outside_quiet = (
            f"(b.days_since_last_order is null or b.days_since_last_order >= {quiet})"
            if quiet
            else "true"
        )
        in_segment = (
            f"""
        and exists (
            select 1 from segment_memberships as s
            where s.as_of_date = b.as_of_date and s.customer_id = b.customer_id
                and s.segment_code = {_lit(a.action.segment)}
        )"""
            if a.action.segment
            else ""
        )
        selects.append(
            f"""select
        b.as_of_date,
        b.customer_id,
        b.tier_code,
        {_lit(a.id)} as action_id,
        {a.rank} as action_rank,
        {_lit(a.channel)} as channel,
        {_lit(a.action.template.id)} as template_id,
        {consent} as consent_ok,
        {contact} as contact_ok,
        {outside_quiet} as outside_quiet,
        {a.cadence.max_contacts} as max_contacts,
        {a.cadence.per_days} as per_days,
        {_lit(threshold_hex(a.holdout_share))} as holdout_below,
        {evidence_sql(a, column_types, "b")} as reason
    from base as b
    where b.tier_code = {_lit(a.tier_code)} and coalesce({trigger}, false){in_segment}"""
        )
    return "\n    union all\n    ".join(selects)


BLOCKED = """case
            when not c.consent_ok then 'no_consent'
            when not c.contact_ok then 'no_contact'
            when not c.outside_quiet then 'quiet_period'
        end"""


def pool_sql(actions: list[PlannedAction], column_types: dict[str, str]) -> str:
    """Candidates of every day of the window for the actions whose trigger does not depend on
    earlier contacts, evaluated once, in bulk, with the gate that blocks each (null: open)."""
    bulk = [a for a in actions if not _uses_contacts(a)]
    # every action waiting for the ledger: an empty pool with the same columns
    union = (
        _selects(bulk, column_types) if bulk else _selects(actions[:1], column_types) + " and false"
    )
    return f"""create or replace temp table action_pool as
with base as (
    select a.*, cast(null as integer) as days_since_last_contact
    from action_base as a
),
selected as (
    {union}
)
select c.*, {BLOCKED} as blocked
from selected as c"""


OPEN_SQL = """create or replace temp table action_open as
select * from action_pool where blocked is null
order by as_of_date"""


def waiting_sql(actions: list[PlannedAction]) -> str:
    """Base rows of the tiers whose actions read days_since_last_contact (decided day by day)."""
    waiting = [a for a in actions if _uses_contacts(a)]
    tiers = _tiers(waiting) if waiting else "''"
    return f"""create or replace temp table action_waiting as
select * from action_base where tier_code in ({tiers})
order by as_of_date"""


def issued_sql(start: date, max_days: int) -> str:
    """Contacts issued before the window, customer ids following merges: every one of the last
    `max_days` days (frequency caps), and each customer's latest one before that (for
    days_since_last_contact)."""
    recent_from = start - timedelta(days=max_days)
    return f"""create or replace temp table action_issued as
with mapped as (
    select {_surviving_id("l")} as customer_id, l.channel, l.issued_date
    from contact_ledger as l
    left join identity_customer_aliases as a on a.old_customer_id = l.customer_id
    where l.issued_date < {_d(start)}
)
select customer_id, channel, issued_date from mapped where issued_date >= {_d(recent_from)}
union all
select customer_id, '' as channel, max(issued_date) as issued_date
from mapped
where issued_date < {_d(recent_from)}
group by customer_id"""


def decide_sql(
    strategy: Strategy,
    actions: list[PlannedAction],
    column_types: dict[str, str],
    day: date,
    max_days: int,
) -> str:
    """Decide `day`: its open pool candidates plus the candidates of the actions whose trigger
    reads days_since_last_contact (against the contacts issued before `day`), gated, capped per
    customer and channel by what was issued in the cadence window, then split by the holdout
    hash. The frequency cap counts both groups (a holdout is a contact that was withheld), so
    treatment and holdout customers see the same cadence."""
    waiting = [a for a in actions if _uses_contacts(a)]
    key = holdout_key_sql(strategy.holdout_salt, "g.action_id", "g.customer_id")
    since = day - timedelta(days=max_days)
    waiting_ctes = ""
    waiting_union = ""
    if waiting:
        waiting_ctes = f"""
contacted as (
    select customer_id, max(issued_date) as last_contact_date
    from action_issued
    group by customer_id
),
base as (
    select
        w.*,
        date_diff('day', k.last_contact_date, w.as_of_date) as days_since_last_contact
    from action_waiting as w
    left join contacted as k on k.customer_id = w.customer_id
    where w.as_of_date = {_d(day)}
),
waiting as (
    {_selects(waiting, column_types)}
),"""
        waiting_union = f"""
    union all
    select c.*, {BLOCKED} as blocked
    from waiting as c"""
    return f"""insert into action_decided
with {waiting_ctes}
gated as (
    select * from action_open where as_of_date = {_d(day)}{waiting_union}
),
open as (
    select * from gated where blocked is null
),
recent as (
    select g.customer_id, g.action_id, count(l.customer_id) as recent_contacts
    from open as g
    inner join action_issued as l
        on l.customer_id = g.customer_id
        and l.channel = g.channel
        and l.issued_date >= {_d(since)}
        and date_diff('day', l.issued_date, {_d(day)}) < g.per_days
    group by g.customer_id, g.action_id
),
ranked as (
    select
        g.*,
        coalesce(r.recent_contacts, 0) as recent_contacts,
        row_number() over (
            partition by g.customer_id, g.channel order by g.action_rank
        ) as channel_rank
    from open as g
    left join recent as r on r.customer_id = g.customer_id and r.action_id = g.action_id
)
select
    g.as_of_date as issued_date,
    g.customer_id,
    g.tier_code,
    g.action_id,
    g.channel,
    g.template_id,
    g.reason,
    case
        when g.recent_contacts + g.channel_rank > g.max_contacts then 'frequency_cap'
        when {key} < g.holdout_below then 'holdout'
        else 'treatment'
    end as decision
from ranked as g
union all
select as_of_date, customer_id, tier_code, action_id, channel, template_id, reason, blocked
from gated
where blocked is not null"""


def append_issued_sql(day: date) -> str:
    """The contacts decided for `day` join the ones that count for the next days."""
    return f"""insert into action_issued
select {_surviving_id("d")} as customer_id, d.channel, d.issued_date
from action_decided as d
left join identity_customer_aliases as a on a.old_customer_id = d.customer_id
where d.issued_date = {_d(day)} and d.decision in ('treatment', 'holdout')"""


def day_statements(
    strategy: Strategy,
    actions: list[PlannedAction],
    column_types: dict[str, str],
    day: date,
    max_days: int,
) -> list[str]:
    """Decide `day` (the work tables of window_statements must exist)."""
    return [decide_sql(strategy, actions, column_types, day, max_days), append_issued_sql(day)]


def write_sql(strategy: Strategy) -> list[str]:
    """The window's ledger (treatment and holdout) and funnel (every decision), in bulk."""
    return [
        f"""insert into contact_ledger
select
    issued_date,
    customer_id,
    action_id,
    tier_code,
    channel,
    template_id,
    decision as contact_group,
    {_lit(strategy.version)} as strategy_version,
    reason
from action_decided
where decision in ('treatment', 'holdout')
order by issued_date, action_id, customer_id""",
        """insert into action_funnel
with decisions as (
    select as_of_date, action_id, tier_code, channel, blocked as decision
    from action_pool
    where blocked is not null
    union all
    select issued_date, action_id, tier_code, channel, decision
    from action_decided
)
select as_of_date, action_id, tier_code, channel, decision, count(*) as customers
from decisions
group by as_of_date, action_id, tier_code, channel, decision
order by as_of_date, action_id, decision""",
    ]


def window_statements(
    strategy: Strategy,
    actions: list[PlannedAction],
    column_types: dict[str, str],
    start: date,
    end: date,
    dialect: str = "duckdb",
) -> list[str]:
    """Replace the ledger and funnel rows of [start, end): tables, the window's work tables,
    every day in order, then the ledger and funnel rows."""
    out = [
        LEDGER_DDL,
        FUNNEL_DDL,
        f"delete from contact_ledger where issued_date >= {_d(start)} and issued_date < {_d(end)}",
        f"delete from action_funnel where as_of_date >= {_d(start)} and as_of_date < {_d(end)}",
    ]
    if actions:
        max_days = max(a.cadence.per_days for a in actions)
        out += [
            base_sql(actions, start, end),
            pool_sql(actions, column_types),
            OPEN_SQL,
            waiting_sql(actions),
            issued_sql(start, max_days),
            DECIDED_DDL,
        ]
        day = start
        while day < end:
            out += day_statements(strategy, actions, column_types, day, max_days)
            day += timedelta(days=1)
        out += write_sql(strategy)
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out
