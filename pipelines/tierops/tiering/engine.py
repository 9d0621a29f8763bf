"""Compile a tier policy into SQL statements that run on the warehouse.

Rules are rendered from parsed expression trees (never from text), the surrounding statement is
written in DuckDB SQL and transpiled by sqlglot when the warehouse speaks another dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlglot
from sqlglot import exp

from tierops.tiering.expressions import Expression, QuantileRef
from tierops.tiering.policy import TierPolicy

ASSIGNMENTS_DDL = """
create table if not exists tier_assignments (
    as_of_date date not null,
    customer_id varchar not null,
    tier_code varchar not null,
    tier_name_zh varchar,
    tier_name_en varchar,
    is_primary boolean not null,
    priority integer not null,
    rule_id varchar not null,
    rule varchar,
    evidence varchar,
    policy_version varchar not null,
    recency_days integer,
    frequency_365d integer,
    monetary_365d double
)
"""

THRESHOLDS_DDL = """
create table if not exists tier_thresholds (
    as_of_date date not null,
    policy_version varchar not null,
    name varchar not null,
    feature varchar not null,
    quantile double not null,
    value double,
    population integer not null
)
"""


FRACTIONAL_TYPES = ("double", "float", "decimal", "numeric", "real")


@dataclass(frozen=True)
class CompiledPolicy:
    policy: TierPolicy
    expressions: dict[str, Expression]
    column_types: dict[str, str]

    def is_fractional(self, column: str) -> bool:
        kind = self.column_types.get(column, "").lower()
        return any(t in kind for t in FRACTIONAL_TYPES)

    @property
    def quantiles(self) -> list[QuantileRef]:
        refs = {q for e in self.expressions.values() for q in e.quantiles}
        return sorted(refs, key=lambda r: (r.feature, r.q))


def _col(alias: str):
    return lambda name: exp.column(name, table=alias)


def _cut(alias: str):
    return lambda ref: exp.column(ref.name, table=alias)


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def statements(
    compiled: CompiledPolicy, start: date, end: date, dialect: str = "duckdb"
) -> list[str]:
    """DDL, deletes and inserts that (re)write tiers for as_of_date in [start, end)."""
    policy = compiled.policy
    window = f"as_of_date >= date '{start.isoformat()}' and as_of_date < date '{end.isoformat()}'"
    population = compiled.expressions["population"].render("duckdb", _col("f"))
    quantile_pop = compiled.expressions["quantile_population"].render("duckdb", _col("f"))
    refs = compiled.quantiles
    cut_cols = ",\n        ".join(
        f"percentile_cont({r.q}) within group (order by f.{r.feature}) as {r.name}" for r in refs
    )
    cut_cte = f"""cut as (
    select f.as_of_date, count(*) as population{"," if refs else ""}
        {cut_cols}
    from features as f
    where {quantile_pop}
    group by f.as_of_date
)"""
    features_cte = f"""features as (
    select f.* from customer_features as f
    where f.{window} and ({population})
)"""
    threshold_rows = "\nunion all\n".join(
        f"select as_of_date, {_lit(policy.version)}, {_lit(r.name)}, {_lit(r.feature)}, {r.q}, "
        f"{r.name}, population from cut"
        for r in refs
    )
    out = [ASSIGNMENTS_DDL, THRESHOLDS_DDL]
    out.append(f"delete from tier_assignments where {window}")
    out.append(f"delete from tier_thresholds where {window}")
    if refs:
        out.append(
            f"insert into tier_thresholds\nwith {features_cte},\n{cut_cte}\n{threshold_rows}"
        )
    out.append(_assignment_insert(compiled, features_cte, cut_cte))
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def _assignment_insert(compiled: CompiledPolicy, features_cte: str, cut_cte: str) -> str:
    policy = compiled.policy
    flags: list[str] = []
    matches: list[str] = []
    for priority, tier in enumerate(policy.tiers, start=1):
        key = f"tiers[{priority - 1}].rule"
        if key not in compiled.expressions:
            continue
        expr = compiled.expressions[key]
        condition = expr.render("duckdb", _col("f"), _cut("c"))
        flags.append(f"coalesce({condition}, false) as m_{tier.code}")
        matches.append(
            f"""select as_of_date, customer_id, {_lit(tier.code)} as tier_code, {priority} as priority,
        {_lit(tier.code)} as rule_id, {_lit(tier.rule or "")} as rule, ev_{tier.code} as evidence
    from flags where m_{tier.code}"""
        )
    any_match = " or ".join(f"m_{t.code}" for t in policy.tiers if t.rule) or "false"
    fallback = policy.tier(policy.fallback)
    fb_priority = len(policy.tiers) + 1
    matches.append(
        f"""select as_of_date, customer_id, {_lit(fallback.code)} as tier_code, {fb_priority} as priority,
        'fallback' as rule_id, 'no rule matched' as rule, ev_fallback as evidence
    from flags where not ({any_match})"""
    )
    evidence_cols = _evidence_columns(compiled)
    names = "\n".join(f"        when {_lit(t.code)} then {_lit(t.name_zh)}" for t in policy.tiers)
    names_en = "\n".join(
        f"        when {_lit(t.code)} then {_lit(t.name_en)}" for t in policy.tiers
    )
    keep = "where r.match_rank = 1" if policy.assignment == "priority" else ""
    return f"""insert into tier_assignments
with {features_cte},
{cut_cte},
flags as (
    select
        f.as_of_date,
        f.customer_id,
        {("," + chr(10) + "        ").join(flags) or "true as m__none"},
        {evidence_cols}
    from features as f
    left join cut as c on c.as_of_date = f.as_of_date
),
matches as (
    {(chr(10) + "    union all" + chr(10) + "    ").join(matches)}
),
ranked as (
    select m.*, row_number() over (partition by as_of_date, customer_id order by priority) as match_rank
    from matches as m
)
select
    r.as_of_date,
    r.customer_id,
    r.tier_code,
    case r.tier_code
{names}
    end as tier_name_zh,
    case r.tier_code
{names_en}
    end as tier_name_en,
    r.match_rank = 1 as is_primary,
    r.priority,
    r.rule_id,
    r.rule,
    r.evidence,
    {_lit(policy.version)} as policy_version,
    f.days_since_last_order as recency_days,
    f.orders_365d as frequency_365d,
    f.monetary_365d
from ranked as r
join features as f on f.as_of_date = r.as_of_date and f.customer_id = r.customer_id
{keep}"""


def _evidence_columns(compiled: CompiledPolicy) -> str:
    """One evidence string per tier rule, computed alongside the flags."""
    parts = []
    for i, tier in enumerate(compiled.policy.tiers):
        key = f"tiers[{i}].rule"
        if key in compiled.expressions:
            parts.append(f"{_evidence_sql(compiled, compiled.expressions[key])} as ev_{tier.code}")
    # the fallback explains itself with every value the rules looked at
    columns = sorted({c for e in compiled.expressions.values() for c in e.columns})
    fallback = _values_sql(compiled, [(c, f"f.{c}", c) for c in columns])
    parts.append(f"{fallback} as ev_fallback")
    return ",\n        ".join(parts)


def _evidence_sql(compiled: CompiledPolicy, expr: Expression) -> str:
    pairs = [(c, f"f.{c}", c) for c in sorted(expr.columns)]
    pairs += [
        (f"p{round(r.q * 100)}({r.feature})", f"c.{r.name}", r.feature)
        for r in sorted(expr.quantiles, key=lambda r: (r.feature, r.q))
    ]
    return _values_sql(compiled, pairs)


def _values_sql(compiled: CompiledPolicy, pairs: list[tuple[str, str, str]]) -> str:
    """`label=value; label=value` in SQL; fractional numbers rounded to 2 decimals."""
    if not pairs:
        return "''"
    pieces = []
    for i, (label, ref, column) in enumerate(pairs):
        prefix = ("; " if i else "") + label + "="
        value = f"round({ref}, 2)" if compiled.is_fractional(column) else ref
        pieces.append(f"{_lit(prefix)} || coalesce(cast({value} as varchar), 'null')")
    return " || ".join(pieces)
