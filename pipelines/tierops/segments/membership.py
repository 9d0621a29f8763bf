"""Segment memberships per customer and day (SQL), the segment lists and the overlap report."""

from __future__ import annotations

from datetime import date

import sqlglot
from sqlglot import exp

from tierops.exports.lists import ListSpec
from tierops.exports.pii import Pii
from tierops.segments.config import SegmentsConfig
from tierops.tiering import expressions

MEMBERSHIP_DDL = """
create table if not exists segment_memberships (
    as_of_date date not null,
    customer_id varchar not null,
    segment_code varchar not null,
    tier_code varchar not null,
    precedence integer not null,
    is_primary boolean not null,
    reason varchar
)
"""

HEADERS: dict[str, str] = {
    "customer_id": "客户ID(customer_id)",
    "segment_code": "分群代码(segment_code)",
    "segment_name_zh": "分群(segment)",
    "segment_name_en": "Segment",
    "tier_name_zh": "分层(tier)",
    "tier_name_en": "Tier",
    "tier_code": "分层代码(tier_code)",
    "is_primary": "主分群(is_primary)",
    "reason": "原因(reason)",
    "phone": "手机(phone)",
    "email": "邮箱(email)",
    "member_id": "会员号(member_id)",
    "as_of_date": "日期(as_of_date)",
    "compared_with": "对比(compared_with)",
    "kind": "类型(kind)",
    "customers": "客户数(customers)",
    "share_of_segment": "占本分群比例(share_of_segment)",
}


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def _evidence(rule: expressions.Expression) -> str:
    pieces = [
        f"{_lit(('; ' if i else '') + c + '=')} || coalesce(cast(b.{c} as varchar), 'null')"
        for i, c in enumerate(sorted(rule.columns))
    ]
    return " || ".join(pieces) if pieces else "''"


def statements(
    config: SegmentsConfig,
    rules: dict[str, expressions.Expression],
    start: date,
    end: date,
    dialect: str = "duckdb",
) -> list[str]:
    """Replace segment_memberships for as_of_date in [start, end)."""
    window = f"as_of_date >= date '{start}' and as_of_date < date '{end}'"
    out = [MEMBERSHIP_DDL, f"delete from segment_memberships where {window}"]
    selects = []
    for precedence, segment in enumerate(config.segments, start=1):
        lo, hi = max(start, segment.valid_from), segment.valid_to
        rule = rules[segment.code].render("duckdb", lambda name: exp.column(name, table="b"))
        tiers = (
            f" and b.tier_code in ({', '.join(_lit(t) for t in segment.tiers)})"
            if segment.tiers
            else ""
        )
        selects.append(
            f"""select b.as_of_date, b.customer_id, {_lit(segment.code)} as segment_code,
        b.tier_code, {precedence} as precedence, {_evidence(rules[segment.code])} as reason
    from base as b
    where b.as_of_date >= date '{lo}' and b.as_of_date <= date '{hi}'{tiers}
        and coalesce({rule}, false)"""
        )
    if selects:
        union = "\n    union all\n    ".join(selects)
        out.append(
            f"""insert into segment_memberships
with base as (
    select f.*, t.tier_code
    from tier_assignments as t
    inner join customer_features as f
        on f.customer_id = t.customer_id and f.as_of_date = t.as_of_date
    where t.is_primary and t.as_of_date >= date '{start}' and t.as_of_date < date '{end}'
),
matched as (
    {union}
)
select
    as_of_date,
    customer_id,
    segment_code,
    tier_code,
    precedence,
    row_number() over (partition by as_of_date, customer_id order by precedence) = 1
        as is_primary,
    reason
from matched"""
        )
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def segment_query(config: SegmentsConfig, code: str, day: date, pii: Pii) -> tuple[str, list]:
    segment = next(s for s in config.segments if s.code == code)
    sql = f"""
        select
            m.customer_id,
            m.segment_code,
            {_lit(segment.name_zh)} as segment_name_zh,
            {_lit(segment.name_en)} as segment_name_en,
            a.tier_name_zh,
            a.tier_name_en,
            m.tier_code,
            m.is_primary,
            m.reason,
            {pii("c.phone", "phone", "phone")},
            {pii("c.email", "email", "email")},
            c.member_id,
            m.as_of_date
        from segment_memberships as m
        left join tier_assignments as a
            on a.customer_id = m.customer_id and a.as_of_date = m.as_of_date and a.is_primary
        left join customer_contacts as c on c.customer_id = m.customer_id
        where m.as_of_date = ? and m.segment_code = ?
        order by m.customer_id
    """
    return sql, [day, code]


def overlap_query(day: date) -> tuple[str, list]:
    """Per segment: its size, how many have it as primary, and overlaps with every other
    segment and every tier."""
    sql = """
        with m as (select * from segment_memberships where as_of_date = ?),
        sizes as (select segment_code, count(*) as n from m group by segment_code),
        rows as (
            select segment_code, 'all' as compared_with, 'size' as kind, count(*) as customers
            from m group by segment_code
            union all
            select segment_code, 'primary', 'precedence', count(*)
            from m where is_primary group by segment_code
            union all
            select a.segment_code, b.segment_code, 'segment', count(*)
            from m as a inner join m as b
                on a.customer_id = b.customer_id and a.segment_code <> b.segment_code
            group by a.segment_code, b.segment_code
            union all
            select segment_code, tier_code, 'tier', count(*)
            from m group by segment_code, tier_code
        )
        select
            r.segment_code,
            r.compared_with,
            r.kind,
            r.customers,
            round(r.customers / s.n, 4) as share_of_segment,
            cast(? as date) as as_of_date
        from rows as r inner join sizes as s on s.segment_code = r.segment_code
        order by
            r.segment_code,
            case r.kind when 'size' then 0 when 'precedence' then 1 when 'segment' then 2 else 3 end,
            r.compared_with
    """
    return sql, [day, day]


def segment_lists(config: SegmentsConfig, day: date) -> list[ListSpec]:
    active = [s for s in config.segments if s.active_on(day)]
    specs = [
        ListSpec(
            f"segments/{s.code}",
            "segment",
            s.code,
            lambda pii, code=s.code: segment_query(config, code, day, pii),
            HEADERS,
        )
        for s in active
    ]
    if active:
        specs.append(
            ListSpec(
                "segments/overlap",
                "segment_overlap",
                "overlap",
                lambda _p: overlap_query(day),
                HEADERS,
            )
        )
    return specs
