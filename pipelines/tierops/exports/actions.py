"""Per-action lists for one day: who to contact (treatment), who is held out on purpose, and
the change of the contact list since the previous day. Rows come from `contact_ledger`."""

from __future__ import annotations

from datetime import date, timedelta

from sqlglot import exp

from tierops.exports.lists import ListSpec
from tierops.exports.pii import Pii
from tierops.strategies.channels import CHANNELS
from tierops.strategies.config import PlannedAction

HEADERS: dict[str, str] = {
    "change": "变化(change)",
    "customer_id": "客户ID(customer_id)",
    "tier_name_zh": "分层(tier)",
    "tier_name_en": "Tier",
    "tier_code": "分层代码(tier_code)",
    "reason": "原因(reason)",
    "action_id": "动作代码(action_id)",
    "action_name": "动作(action)",
    "channel": "渠道(channel)",
    "template_id": "模板(template)",
    "contact": "联系方式(contact)",
    "member_id": "会员号(member_id)",
    "issued_date": "日期(issued_date)",
    "contact_group": "分组(group)",
}


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def _contact(action: PlannedAction, pii: Pii) -> str:
    channel = CHANNELS[action.channel]
    return pii(channel.contact_sql, channel.contact_kind, "contact")


def action_query(action: PlannedAction, day: date, group: str, pii: Pii) -> tuple[str, list]:
    """Rows of one action and group (treatment | holdout) for `day`."""
    sql = f"""
        select
            l.customer_id,
            a.tier_name_zh,
            a.tier_name_en,
            l.tier_code,
            'trigger: ' || coalesce(l.reason, '') || ' | tier: ' || a.rule_id as reason,
            l.action_id,
            {_lit(f"{action.action.name_zh} / {action.action.name_en}")} as action_name,
            l.channel,
            l.template_id,
            {_contact(action, pii)},
            c.member_id,
            l.issued_date,
            l.contact_group
        from contact_ledger as l
        left join tier_assignments as a
            on a.customer_id = l.customer_id and a.as_of_date = l.issued_date and a.is_primary
        left join customer_contacts as c on c.customer_id = l.customer_id
        where l.issued_date = ? and l.action_id = ? and l.contact_group = ?
        order by l.customer_id
    """
    return sql, [day, action.id, group]


def action_delta_query(action: PlannedAction, day: date, pii: Pii) -> tuple[str, list]:
    """Contact list today vs yesterday: added (contact today, not yesterday) and removed."""
    sql = f"""
        with today as (
            select customer_id, reason from contact_ledger
            where issued_date = ? and action_id = ? and contact_group = 'treatment'
        ),
        yesterday as (
            select customer_id from contact_ledger
            where issued_date = ? and action_id = ? and contact_group = 'treatment'
        ),
        changes as (
            select 'added' as change, t.customer_id, 'trigger: ' || coalesce(t.reason, '') as reason
            from today as t
            where t.customer_id not in (select customer_id from yesterday)
            union all
            select 'removed' as change, y.customer_id, 'not on today''s list' as reason
            from yesterday as y
            where y.customer_id not in (select customer_id from today)
        )
        select
            d.change,
            d.customer_id,
            {_lit(action.tier_code)} as tier_code,
            d.reason,
            {_lit(action.id)} as action_id,
            {_lit(action.channel)} as channel,
            {_lit(action.action.template.id)} as template_id,
            {_contact(action, pii)},
            c.member_id,
            cast(? as date) as issued_date
        from changes as d
        left join customer_contacts as c on c.customer_id = d.customer_id
        order by d.change, d.customer_id
    """
    previous = day - timedelta(days=1)
    return sql, [day, action.id, previous, action.id, day]


def action_lists(actions: list[PlannedAction], day: date) -> list[ListSpec]:
    specs = []
    for a in actions:
        specs += [
            ListSpec(
                f"actions/{a.id}",
                "action_treatment",
                a.id,
                lambda pii, a=a: action_query(a, day, "treatment", pii),
                HEADERS,
            ),
            ListSpec(
                f"actions/{a.id}.holdout",
                "action_holdout",
                a.id,
                lambda pii, a=a: action_query(a, day, "holdout", pii),
                HEADERS,
            ),
            ListSpec(
                f"actions/{a.id}.delta",
                "action_delta",
                a.id,
                lambda pii, a=a: action_delta_query(a, day, pii),
                HEADERS,
            ),
        ]
    return specs
