"""Per-tier lists for one day: the full list and the change since the previous day."""

from __future__ import annotations

from datetime import date, timedelta

from sqlglot import exp

from tierops.exports.lists import ListSpec
from tierops.exports.pii import Pii
from tierops.tiering.policy import TierPolicy

HEADERS: dict[str, str] = {
    "change": "变化(change)",
    "customer_id": "客户ID(customer_id)",
    "tier_name_zh": "分层(tier)",
    "tier_name_en": "Tier",
    "tier_code": "分层代码(tier_code)",
    "reason": "原因(reason)",
    "recency_days": "距上次购买天数(recency_days)",
    "frequency_365d": "近365天订单数(orders_365d)",
    "monetary_365d": "近365天消费额(monetary_365d)",
    "phone": "手机(phone)",
    "email": "邮箱(email)",
    "member_id": "会员号(member_id)",
    "as_of_date": "日期(as_of_date)",
}


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def tier_query(day: date, tier_code: str, pii: Pii) -> tuple[str, list]:
    sql = f"""
        select
            a.customer_id,
            a.tier_name_zh,
            a.tier_name_en,
            a.tier_code,
            a.rule_id || ': ' || coalesce(a.evidence, '') as reason,
            a.recency_days,
            a.frequency_365d,
            round(a.monetary_365d, 2) as monetary_365d,
            {pii("c.phone", "phone", "phone")},
            {pii("c.email", "email", "email")},
            c.member_id,
            a.as_of_date
        from tier_assignments as a
        left join customer_contacts as c on c.customer_id = a.customer_id
        where a.as_of_date = ? and a.is_primary and a.tier_code = ?
        order by a.customer_id
    """
    return sql, [day, tier_code]


def tier_delta_query(day: date, tier_code: str, pii: Pii) -> tuple[str, list]:
    """Customers who joined the tier today (added) or left it since yesterday (removed)."""
    sql = f"""
        with today as (
            select * from tier_assignments where as_of_date = ? and is_primary
        ),
        yesterday as (
            select * from tier_assignments where as_of_date = ? and is_primary
        ),
        changes as (
            select 'added' as change, t.customer_id,
                t.rule_id || ': ' || coalesce(t.evidence, '') as reason
            from today as t
            left join yesterday as y on y.customer_id = t.customer_id
            where t.tier_code = ? and (y.tier_code is null or y.tier_code <> t.tier_code)
            union all
            select 'removed' as change, y.customer_id,
                'now: ' || coalesce(t.tier_code, 'no tier') as reason
            from yesterday as y
            left join today as t on t.customer_id = y.customer_id
            where y.tier_code = ? and (t.tier_code is null or t.tier_code <> y.tier_code)
        )
        select
            d.change,
            d.customer_id,
            {_lit(tier_code)} as tier_code,
            d.reason,
            {pii("c.phone", "phone", "phone")},
            {pii("c.email", "email", "email")},
            c.member_id,
            cast(? as date) as as_of_date
        from changes as d
        left join customer_contacts as c on c.customer_id = d.customer_id
        order by d.change, d.customer_id
    """
    return sql, [day, day - timedelta(days=1), tier_code, tier_code, day]


def tier_lists(policy: TierPolicy, day: date) -> list[ListSpec]:
    specs = []
    for tier in policy.tiers:
        code = tier.code
        specs.append(
            ListSpec(
                f"audiences/tier_{code}",
                "tier_audience",
                code,
                lambda pii, code=code: tier_query(day, code, pii),
                HEADERS,
            )
        )
        specs.append(
            ListSpec(
                f"audiences/tier_{code}.delta",
                "tier_delta",
                code,
                lambda pii, code=code: tier_delta_query(day, code, pii),
                HEADERS,
            )
        )
    return specs
