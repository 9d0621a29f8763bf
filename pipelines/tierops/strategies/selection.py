"""Who gets which action on a day: triggers, eligibility, cadence and holdout, all in SQL.

Days are decided one after another because the frequency cap of a day depends on what was
issued on the days before it. Each day: candidates (tier + trigger) → decisions (consent,
contact, quiet period, frequency cap, holdout) → `contact_ledger` and `action_funnel` rows for
that day, replaced whole (delete + insert), so re-running a day never counts a contact twice.
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


def _mapped_ledger(since: date, before: date) -> str:
    """Ledger rows in [since, before), customer ids following merges."""
    return f"""(
        select {_surviving_id("l")} as customer_id, l.channel, l.issued_date
        from contact_ledger as l
        left join identity_customer_aliases as a on a.old_customer_id = l.customer_id
        where l.issued_date >= {_d(since)} and l.issued_date < {_d(before)}
    )"""


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


def base_sql(actions: list[PlannedAction], start: date, end: date) -> str:
    """The columns the actions read, for every customer with a tier on every day of the window,
    in one scan of the features (per-day queries then read this small, date-ordered table)."""
    needed = {"days_since_last_order"}
    for a in actions:
        channel = CHANNELS[a.channel]
        needed |= {channel.consent_column, channel.reachable_column}
        needed |= set(a.trigger.columns) - set(EVENT_COLUMNS)
    features = ",\n        ".join(f"f.{c}" for c in sorted(needed))
    return f"""create or replace temp table action_base as
with previous_tiers as (
    -- yesterday's tier of a customer merged since then counts for the surviving id
    select
        cast(t.as_of_date + interval 1 day as date) as next_date,
        {_surviving_id("t")} as customer_id,
        coalesce(max(case when a.customer_id is null then t.tier_code end), min(t.tier_code))
            as tier_code
    from tier_assignments as t
    left join identity_customer_aliases as a on a.old_customer_id = t.customer_id
    where t.is_primary
        and t.as_of_date >= {_d(start - timedelta(days=1))} and t.as_of_date < {_d(end)}
    group by t.as_of_date, {_surviving_id("t")}
),
final as (
    select
        t.as_of_date,
        t.customer_id,
        t.tier_code,
        coalesce(p.tier_code, '') as previous_tier_code,
        case when p.tier_code = t.tier_code then 0 else 1 end as entered_tier_today,
        {features}
    from tier_assignments as t
    inner join customer_features as f
        on f.customer_id = t.customer_id and f.as_of_date = t.as_of_date
    left join previous_tiers as p
        on p.customer_id = t.customer_id and p.next_date = t.as_of_date
    where t.is_primary and t.as_of_date >= {_d(start)} and t.as_of_date < {_d(end)}
)
select * from final
order by as_of_date, customer_id"""


def _uses_contacts(action: PlannedAction) -> bool:
    return "days_since_last_contact" in action.trigger.columns


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


def pool_sql(actions: list[PlannedAction], column_types: dict[str, str]) -> str:
    """Candidates of every day of the window for the actions whose trigger does not depend on
    earlier contacts: evaluated once, in bulk."""
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
select * from selected
order by as_of_date"""


def candidates_sql(actions: list[PlannedAction], column_types: dict[str, str], day: date) -> str:
    """The day's candidates: the bulk pool's rows of `day`, plus the actions whose trigger reads
    days_since_last_contact, evaluated against the ledger as it stands before `day`."""
    waiting = [a for a in actions if _uses_contacts(a)]
    pooled = f"select * from action_pool where as_of_date = {_d(day)}"
    if not waiting:
        return f"create or replace temp table action_candidates as\n{pooled}"
    return f"""create or replace temp table action_candidates as
with contacted as (
    select customer_id, max(issued_date) as last_contact_date
    from {_mapped_ledger(date(1900, 1, 1), day)} as l
    group by customer_id
),
base as (
    select
        a.*,
        date_diff('day', k.last_contact_date, a.as_of_date) as days_since_last_contact
    from action_base as a
    left join contacted as k on k.customer_id = a.customer_id
    where a.as_of_date = {_d(day)}
),
selected as (
    {pooled}
    union all
    {_selects(waiting, column_types)}
)
select * from selected"""


def decisions_sql(strategy: Strategy, day: date, max_days: int) -> str:
    """Gate every candidate; the frequency cap counts both groups (a holdout is a contact that
    was withheld), so treatment and holdout customers see the same cadence."""
    key = holdout_key_sql(strategy.holdout_salt, "g.action_id", "g.customer_id")
    return f"""create or replace temp table action_decisions as
with gated as (
    select
        c.*,
        case
            when not c.consent_ok then 'no_consent'
            when not c.contact_ok then 'no_contact'
            when not c.outside_quiet then 'quiet_period'
        end as blocked
    from action_candidates as c
),
recent as (
    select g.customer_id, g.action_id, count(l.customer_id) as recent_contacts
    from gated as g
    inner join {_mapped_ledger(day - timedelta(days=max_days), day)} as l
        on l.customer_id = g.customer_id
        and l.channel = g.channel
        and date_diff('day', l.issued_date, {_d(day)}) < g.per_days
    where g.blocked is null
    group by g.customer_id, g.action_id
),
ranked as (
    select
        g.*,
        coalesce(r.recent_contacts, 0) as recent_contacts,
        row_number() over (
            partition by g.customer_id, g.channel, g.blocked is null order by g.action_rank
        ) as channel_rank
    from gated as g
    left join recent as r on r.customer_id = g.customer_id and r.action_id = g.action_id
)
select
    g.*,
    case
        when g.blocked is not null then g.blocked
        when g.recent_contacts + g.channel_rank > g.max_contacts then 'frequency_cap'
        when {key} < g.holdout_below then 'holdout'
        else 'treatment'
    end as decision
from ranked as g"""


def day_statements(
    strategy: Strategy,
    actions: list[PlannedAction],
    column_types: dict[str, str],
    day: date,
    dialect: str = "duckdb",
) -> list[str]:
    """Replace the ledger and funnel rows of `day`."""
    out = [
        f"delete from contact_ledger where issued_date = {_d(day)}",
        f"delete from action_funnel where as_of_date = {_d(day)}",
    ]
    if actions:
        out += [
            candidates_sql(actions, column_types, day),
            decisions_sql(strategy, day, max(a.cadence.per_days for a in actions)),
            f"""insert into contact_ledger
select
    {_d(day)} as issued_date,
    customer_id,
    action_id,
    tier_code,
    channel,
    template_id,
    decision as contact_group,
    {_lit(strategy.version)} as strategy_version,
    reason
from action_decisions
where decision in ('treatment', 'holdout')""",
            f"""insert into action_funnel
select {_d(day)} as as_of_date, action_id, tier_code, channel, decision, count(*) as customers
from action_decisions
group by action_id, tier_code, channel, decision""",
        ]
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def window_statements(
    strategy: Strategy,
    actions: list[PlannedAction],
    column_types: dict[str, str],
    start: date,
    end: date,
    dialect: str = "duckdb",
) -> list[str]:
    """Tables, the window's action_base, then every day in order."""
    out = [LEDGER_DDL, FUNNEL_DDL]
    if actions:
        out += [base_sql(actions, start, end), pool_sql(actions, column_types)]
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    day = start
    while day < end:
        out += day_statements(strategy, actions, column_types, day, dialect)
        day += timedelta(days=1)
    return out
