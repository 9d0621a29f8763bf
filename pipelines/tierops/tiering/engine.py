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
from tierops.tiering.policy import TierPolicy, adjustments_by_cut

ASSIGNMENTS_COLUMNS: dict[str, str] = {
    "as_of_date": "date not null",
    "customer_id": "varchar not null",
    "tier_code": "varchar not null",
    "tier_name_zh": "varchar",
    "tier_name_en": "varchar",
    "is_primary": "boolean not null",
    "priority": "integer not null",
    "rule_id": "varchar not null",
    "rule": "varchar",
    "evidence": "varchar",
    "policy_version": "varchar not null",
    "recency_days": "integer",
    "frequency_365d": "integer",
    "monetary_365d": "double",
    "threshold_version": "integer",
}

THRESHOLDS_COLUMNS: dict[str, str] = {
    "as_of_date": "date not null",
    "policy_version": "varchar not null",
    "name": "varchar not null",
    "feature": "varchar not null",
    "quantile": "double not null",
    "value": "double",
    "population": "integer not null",
    "threshold_version": "integer",
    "calibrated_value": "double",
    "adjustment": "varchar",
    "share_at_or_above": "double",
}


def create_table(name: str, columns: dict[str, str]) -> str:
    body = ",\n    ".join(f"{c} {t}" for c, t in columns.items())
    return f"create table if not exists {name} (\n    {body}\n)"


ASSIGNMENTS_DDL = create_table("tier_assignments", ASSIGNMENTS_COLUMNS)
THRESHOLDS_DDL = create_table("tier_thresholds", THRESHOLDS_COLUMNS)


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


def _num(value: float | None) -> str:
    return "cast(null as double)" if value is None else f"cast({float(value)!r} as double)"


def cut_values(
    compiled: CompiledPolicy, calibrated: dict[str, float | None]
) -> dict[str, tuple[str, str | None]]:
    """SQL for each cut point's value on `f.as_of_date`: the calibrated one, or adjusted by hand.

    Returns name → (value SQL, SQL for the adjustment note or None when nothing is adjusted).
    """
    adjustments = adjustments_by_cut(compiled.policy, compiled.expressions)
    out: dict[str, tuple[str, str | None]] = {}
    for ref in compiled.quantiles:
        if ref.name not in calibrated:
            raise KeyError(f"no calibrated value for {ref.label}")
        base = calibrated[ref.name]
        adj = adjustments.get(ref.name)
        if adj is None:
            out[ref.name] = (_num(base), None)
            continue
        note = _lit(f"{adj.describe()} (calibrated {base if base is None else round(base, 2)})")
        active = (
            f"f.as_of_date <= date '{adj.until.isoformat()}'" if adj.until is not None else "true"
        )
        out[ref.name] = (
            f"case when {active} then {_num(adj.apply(base))} else {_num(base)} end",
            f"case when {active} then {note} end",
        )
    return out


def statements(
    compiled: CompiledPolicy,
    start: date,
    end: date,
    threshold_version: int | None = None,
    calibrated: dict[str, float | None] | None = None,
    dialect: str = "duckdb",
) -> list[str]:
    """DDL, deletes and inserts that (re)write tiers for as_of_date in [start, end).

    Cut points come from a frozen threshold set (`calibrated`, by QuantileRef.name), adjusted by the
    policy's threshold_adjustments; nothing is recomputed from the day's data.
    """
    policy = compiled.policy
    window = f"as_of_date >= date '{start.isoformat()}' and as_of_date < date '{end.isoformat()}'"
    population = compiled.expressions["population"].render("duckdb", _col("f"))
    quantile_pop = compiled.expressions["quantile_population"].render("duckdb", _col("f"))
    refs = compiled.quantiles
    values = cut_values(compiled, calibrated or {})
    cut_cols = "".join(
        f",\n        {values[r.name][0]} as {r.name},"
        f"\n        avg(case when {quantile_pop} then case when f.{r.feature} >= "
        f"{values[r.name][0]} then 1.0 else 0.0 end end) as s_{r.name},"
        f"\n        {values[r.name][1] or 'cast(null as varchar)'} as a_{r.name}"
        for r in refs
    )
    cut_cte = f"""cut as (
    select
        f.as_of_date,
        sum(case when {quantile_pop} then 1 else 0 end) as population{cut_cols}
    from features as f
    group by f.as_of_date
)"""
    features_cte = f"""features as (
    select f.* from customer_features as f
    where f.{window} and ({population})
)"""
    version_sql = "cast(null as integer)" if threshold_version is None else str(threshold_version)
    calibrated = calibrated or {}
    threshold_rows = "\nunion all\n".join(
        f"select as_of_date, {_lit(policy.version)}, {_lit(r.name)}, {_lit(r.feature)}, {r.q}, "
        f"{r.name}, population, {version_sql}, {_num(calibrated.get(r.name))}, a_{r.name}, "
        f"s_{r.name} from cut"
        for r in refs
    )
    out = [ASSIGNMENTS_DDL, THRESHOLDS_DDL]
    out.append(f"delete from tier_assignments where {window}")
    out.append(f"delete from tier_thresholds where {window}")
    if refs:
        out.append(
            f"insert into tier_thresholds ({', '.join(THRESHOLDS_COLUMNS)})\n"
            f"with {features_cte},\n{cut_cte}\n{threshold_rows}"
        )
    out.append(_assignment_insert(compiled, features_cte, cut_cte, version_sql))
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def _assignment_insert(
    compiled: CompiledPolicy, features_cte: str, cut_cte: str, version_sql: str
) -> str:
    """Flags per rule, then the primary tier by priority; overlapping mode adds every match."""
    policy = compiled.policy
    ruled = [
        (priority, tier, compiled.expressions[f"tiers[{priority - 1}].rule"])
        for priority, tier in enumerate(policy.tiers, start=1)
        if f"tiers[{priority - 1}].rule" in compiled.expressions
    ]
    fallback = policy.tier(policy.fallback)
    fb_priority = len(policy.tiers) + 1
    flags = ",\n        ".join(
        f"coalesce({expr.render('duckdb', _col('f'), _cut('c'))}, false) as m_{tier.code}"
        for _, tier, expr in ruled
    )
    cut_cols = "".join(f", c.{r.name}, c.a_{r.name}" for r in compiled.quantiles)
    primary = " ".join(f"when m_{tier.code} then {priority}" for priority, tier, _ in ruled)

    def by_priority(values: dict[int, str], default: str) -> str:
        whens = " ".join(f"when {p} then {v}" for p, v in values.items())
        return f"case primary_priority {whens} else {default} end"

    evidence = {p: _evidence_sql(compiled, e) for p, _, e in ruled}
    fb_evidence = _fallback_evidence(compiled)
    columns = {
        "tier_code": ({p: _lit(t.code) for p, t, _ in ruled}, _lit(fallback.code)),
        "rule_id": ({p: _lit(t.code) for p, t, _ in ruled}, "'fallback'"),
        "rule": ({p: _lit(t.rule or "") for p, t, _ in ruled}, "'no rule matched'"),
        "evidence": (evidence, fb_evidence),
    }
    names_zh = " ".join(f"when {_lit(t.code)} then {_lit(t.name_zh)}" for t in policy.tiers)
    names_en = " ".join(f"when {_lit(t.code)} then {_lit(t.name_en)}" for t in policy.tiers)
    if policy.assignment == "priority":
        rows = f"""select
        as_of_date, customer_id,
        {by_priority(*columns["tier_code"])} as tier_code,
        true as is_primary,
        primary_priority as priority,
        {by_priority(*columns["rule_id"])} as rule_id,
        {by_priority(*columns["rule"])} as rule,
        {by_priority(*columns["evidence"])} as evidence,
        days_since_last_order, orders_365d, monetary_365d
    from ranked"""
    else:
        parts = [
            f"""select as_of_date, customer_id, {_lit(t.code)} as tier_code,
        primary_priority = {p} as is_primary, {p} as priority, {_lit(t.code)} as rule_id,
        {_lit(t.rule or "")} as rule, {evidence[p]} as evidence,
        days_since_last_order, orders_365d, monetary_365d
    from ranked where m_{t.code}"""
            for p, t, _ in ruled
        ]
        parts.append(
            f"""select as_of_date, customer_id, {_lit(fallback.code)} as tier_code, true as is_primary,
        {fb_priority} as priority, 'fallback' as rule_id, 'no rule matched' as rule,
        {fb_evidence} as evidence, days_since_last_order, orders_365d, monetary_365d
    from ranked where primary_priority = {fb_priority}"""
        )
        rows = "\n    union all\n    ".join(parts)
    return f"""insert into tier_assignments ({", ".join(ASSIGNMENTS_COLUMNS)})
with {features_cte},
{cut_cte},
flags as (
    select f.*{cut_cols},
        {flags or "false as m__none"}
    from features as f
    left join cut as c on c.as_of_date = f.as_of_date
),
ranked as (
    select flags.*, case {primary or "when false then 0"} else {fb_priority} end as primary_priority
    from flags
),
assigned as (
    {rows}
)
select
    as_of_date,
    customer_id,
    tier_code,
    case tier_code {names_zh} end as tier_name_zh,
    case tier_code {names_en} end as tier_name_en,
    is_primary,
    priority,
    rule_id,
    rule,
    evidence,
    {_lit(policy.version)} as policy_version,
    days_since_last_order as recency_days,
    orders_365d as frequency_365d,
    monetary_365d,
    {version_sql} as threshold_version
from assigned"""


def _fallback_evidence(compiled: CompiledPolicy) -> str:
    """The fallback explains itself with every value the rules looked at."""
    columns = sorted({c for e in compiled.expressions.values() for c in e.columns})
    return _values_sql(compiled, [(c, c, c) for c in columns])


def _evidence_sql(compiled: CompiledPolicy, expr: Expression) -> str:
    pairs = [(c, c, c) for c in sorted(expr.columns)]
    refs = sorted(expr.quantiles, key=lambda r: (r.feature, r.q))
    pairs += [(r.label, r.name, r.feature) for r in refs]
    notes = "".join(
        f" || coalesce(' [' || {_lit(r.label)} || ' ' || a_{r.name} || ']', '')" for r in refs
    )
    return _values_sql(compiled, pairs) + notes


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
