"""Action audiences: who gets which action today (treatment) and who is held out on purpose."""

from __future__ import annotations

from datetime import date

from sqlglot import exp

from tierops.exports.pii import masked
from tierops.strategies.channels import CHANNELS
from tierops.strategies.config import PlannedAction

# column → header a person reads in Excel (Chinese first, the code in brackets)
ACTION_COLUMNS: list[tuple[str, str]] = [
    ("customer_id", "客户ID(customer_id)"),
    ("tier_name_zh", "分层(tier)"),
    ("tier_name_en", "Tier"),
    ("tier_code", "分层代码(tier_code)"),
    ("reason", "原因(reason)"),
    ("action_id", "动作代码(action_id)"),
    ("action_name", "动作(action)"),
    ("channel", "渠道(channel)"),
    ("template_id", "模板(template)"),
    ("contact", "联系方式(contact)"),
    ("member_id", "会员号(member_id)"),
    ("issued_date", "日期(issued_date)"),
    ("contact_group", "分组(group)"),
]


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def action_query(action: PlannedAction, day: date, group: str) -> tuple[str, list]:
    """Rows of one action and group (treatment | holdout) for `day`, contact masked."""
    channel = CHANNELS[action.channel]
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
            {masked(channel.contact_sql, channel.contact_kind)} as contact,
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
