"""Membership levels per customer and day, in SQL, with hysteresis.

A customer's level on day d is the best level their tier earned over the `grace_days` days up
to d (a window maximum): an upgrade applies the same day, a downgrade only after the customer
has stayed below the level for `grace_days` days in a row. A window maximum needs no recursion,
so the whole run window is one statement (`range between interval … preceding` on the date;
DuckDB, Postgres, Spark and Trino accept it).
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlglot
from sqlglot import exp

from tierops.crm.config import CrmConfig
from tierops.exports.lists import ListSpec

MEMBERSHIP_DDL = """
create table if not exists crm_membership (
    as_of_date date not null,
    customer_id varchar not null,
    tier_code varchar not null,
    tier_rank integer not null,
    level_code varchar not null,
    level_rank integer not null,
    previous_level_code varchar,
    change varchar not null,
    in_grace boolean not null,
    crm_version varchar not null
)
"""

HEADERS: dict[str, str] = {
    "customer_id": "客户ID(customer_id)",
    "member_id": "会员号(member_id)",
    "tier_code": "分层代码(tier_code)",
    "tier_name_zh": "分层(tier)",
    "level_code": "会员等级代码(level_code)",
    "level_name_zh": "会员等级(level)",
    "level_name_en": "Level",
    "previous_level_code": "昨日等级(previous_level)",
    "change": "变化(change)",
    "in_grace": "保级期内(in_grace)",
    "points_multiplier": "积分倍数(points_multiplier)",
    "dedicated_service": "专属客服(dedicated_service)",
    "birthday_gift": "生日礼(birthday_gift)",
    "free_shipping": "包邮(free_shipping)",
    "as_of_date": "日期(as_of_date)",
}


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return exp.Literal.string(str(value)).sql()


def _case(column: str, mapping: dict, default: str = "null") -> str:
    whens = " ".join(f"when {_lit(k)} then {_lit(v)}" for k, v in mapping.items())
    return f"case {column} {whens} else {default} end"


def statements(config: CrmConfig, start: date, end: date, dialect: str = "duckdb") -> list[str]:
    """Replace crm_membership rows for as_of_date in [start, end)."""
    g = config.grace_days
    tier_rank = {t: config.level(lv).rank for t, lv in config.tier_levels.items()}
    level_by_rank = {lv.rank: lv.code for lv in config.levels}
    history_from = start - timedelta(days=g)
    window = f"as_of_date >= date '{start}' and as_of_date < date '{end}'"
    insert = f"""insert into crm_membership
with daily as (
    select as_of_date, customer_id, tier_code, {_case("tier_code", tier_rank)} as tier_rank
    from tier_assignments
    where is_primary and as_of_date >= date '{history_from}' and as_of_date < date '{end}'
),
held as (
    select
        daily.*,
        max(tier_rank) over (
            partition by customer_id order by as_of_date
            range between interval {g - 1} days preceding and current row
        ) as level_rank
    from daily
),
with_previous as (
    select
        held.*,
        lag(level_rank) over (partition by customer_id order by as_of_date) as previous_rank,
        lag(as_of_date) over (partition by customer_id order by as_of_date) as previous_date
    from held
)
select
    as_of_date,
    customer_id,
    tier_code,
    tier_rank,
    {_case("level_rank", level_by_rank)} as level_code,
    level_rank,
    case when date_diff('day', previous_date, as_of_date) = 1
        then {_case("previous_rank", level_by_rank)} end as previous_level_code,
    case
        when previous_date is null or date_diff('day', previous_date, as_of_date) <> 1 then 'new'
        when level_rank > previous_rank then 'upgrade'
        when level_rank < previous_rank then 'downgrade'
        else 'unchanged'
    end as change,
    level_rank > tier_rank as in_grace,
    {_lit(config.version)} as crm_version
from with_previous
where {window}"""
    out = [MEMBERSHIP_DDL, f"delete from crm_membership where {window}", insert]
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def sync_query(config: CrmConfig, day: date, changes_only: bool) -> tuple[str, list]:
    """The CRM sync rows of `day`: level, benefits, change since yesterday."""
    levels = config.levels
    benefit = {
        name: _case("m.level_code", {lv.code: getattr(lv.benefits, name) for lv in levels})
        for name in ("points_multiplier", "dedicated_service", "birthday_gift", "free_shipping")
    }
    sql = f"""
        select
            m.customer_id,
            c.member_id,
            m.tier_code,
            a.tier_name_zh,
            m.level_code,
            {_case("m.level_code", {lv.code: lv.name_zh for lv in levels})} as level_name_zh,
            {_case("m.level_code", {lv.code: lv.name_en for lv in levels})} as level_name_en,
            m.previous_level_code,
            m.change,
            m.in_grace,
            {benefit["points_multiplier"]} as points_multiplier,
            {benefit["dedicated_service"]} as dedicated_service,
            {benefit["birthday_gift"]} as birthday_gift,
            {benefit["free_shipping"]} as free_shipping,
            m.as_of_date
        from crm_membership as m
        left join tier_assignments as a
            on a.customer_id = m.customer_id and a.as_of_date = m.as_of_date and a.is_primary
        left join customer_contacts as c on c.customer_id = m.customer_id
        where m.as_of_date = ? {"and m.change <> 'unchanged'" if changes_only else ""}
        order by m.customer_id
    """
    return sql, [day]


def crm_lists(config: CrmConfig, day: date) -> list[ListSpec]:
    """crm/membership_sync (everyone) and crm/membership_changes (new, upgrade, downgrade)."""

    def query(changes_only: bool):
        return lambda _pii: sync_query(config, day, changes_only)

    return [
        ListSpec("crm/membership_sync", "crm_sync", "all", query(False), HEADERS),
        ListSpec("crm/membership_changes", "crm_changes", "changes", query(True), HEADERS),
    ]
