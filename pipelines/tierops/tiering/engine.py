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
from tierops.tiering.policy import (
    SubTier,
    TierPolicy,
    adjustments_by_cut,
    score_quantiles,
)

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
    "subtier_code": "varchar",
    "subtier_name_zh": "varchar",
    "subtier_name_en": "varchar",
    "override_reason": "varchar",
    "override_until": "date",
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
    unavailable: tuple[str, ...] = ()  # features the run's feeds cannot supply (reduced mode)
    replaced: str | None = None  # version of the configured policy when reduced mode replaced it

    def is_fractional(self, column: str) -> bool:
        kind = self.column_types.get(column, "").lower()
        return any(t in kind for t in FRACTIONAL_TYPES)

    @property
    def quantiles(self) -> list[QuantileRef]:
        refs = {q for e in self.expressions.values() for q in e.quantiles}
        refs |= set(score_quantiles(self.policy))
        return sorted(refs, key=lambda r: (r.feature, r.q))

    @property
    def used_columns(self) -> set[str]:
        cols = {c for e in self.expressions.values() for c in e.columns}
        cols |= {r.feature for r in self.quantiles}
        return cols


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
    assignments_table: str = "tier_assignments",
    thresholds_table: str = "tier_thresholds",
) -> list[str]:
    """DDL, deletes and inserts that (re)write tiers for as_of_date in [start, end).

    Other table names write a what-if copy (the impact of a candidate threshold set).

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
    out = [
        create_table(assignments_table, ASSIGNMENTS_COLUMNS),
        create_table(thresholds_table, THRESHOLDS_COLUMNS),
    ]
    out.append(f"delete from {assignments_table} where {window}")
    out.append(f"delete from {thresholds_table} where {window}")
    if refs:
        out.append(
            f"insert into {thresholds_table} ({', '.join(THRESHOLDS_COLUMNS)})\n"
            f"with {features_cte},\n{cut_cte}\n{threshold_rows}"
        )
    out.append(_assignment_insert(compiled, features_cte, cut_cte, version_sql, assignments_table))
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def _score_sql(compiled: CompiledPolicy) -> str:
    """R/F/M scores 1..levels: one point per frozen cut point the value is strictly better than
    (strict, so a value tied with a cut point, e.g. one order, does not climb a level)."""
    if compiled.policy.scores is None:
        return ""
    refs = score_quantiles(compiled.policy)
    scores: dict[str, str] = {}
    for name, spec in compiled.policy.scores.specs().items():
        op = ">" if spec.higher_is_better else "<"
        points = " + ".join(
            f"case when f.{spec.feature} {op} c.{r.name} then 1 else 0 end"
            for r, owner in refs.items()
            if owner == name
        )
        scores[name] = f"1 + {points}"
    if "rfm_score" in compiled.policy.scores.columns():
        scores["rfm_score"] = " + ".join(f"({v})" for v in scores.values())
    return "".join(f",\n        cast({v} as integer) as {k}" for k, v in scores.items())


def _assignment_insert(
    compiled: CompiledPolicy, features_cte: str, cut_cte: str, version_sql: str, table: str
) -> str:
    """Flags per rule, the primary tier by priority (overlapping mode adds every match), the
    sub-tier inside it, then business overrides on top; every row explains itself."""
    policy = compiled.policy
    index = {t.code: i for i, t in enumerate(policy.tiers)}
    ruled = [
        (p, t, compiled.expressions[f"tiers[{index[t.code]}].rule"])
        for p, t in enumerate(policy.ordered_tiers(), start=1)
        if f"tiers[{index[t.code]}].rule" in compiled.expressions
    ]
    rules_text = {
        t.code: policy.effective_rule(f"tiers[{index[t.code]}]") or "" for t in policy.tiers
    }
    subs = [
        (s, compiled.expressions.get(f"subtiers[{i}].rule")) for i, s in enumerate(policy.subtiers)
    ]
    fallback = policy.tier(policy.fallback)
    fb_priority = len(policy.tiers) + 1
    s_col, s_cut = _col("s"), _cut("s")
    flags = [
        f"coalesce({e.render('duckdb', s_col, s_cut)}, false) as m_{t.code}" for _, t, e in ruled
    ]
    flags += [
        f"coalesce({e.render('duckdb', s_col, s_cut) if e else 'true'}, false) as ms_{s.code}"
        for s, e in subs
    ]
    cut_cols = "".join(f", c.{r.name}, c.a_{r.name}" for r in compiled.quantiles)
    primary = " ".join(f"when m_{tier.code} then {p}" for p, tier, _ in ruled)

    def by_priority(values: dict[int, str], default: str) -> str:
        whens = " ".join(f"when {p} then {v}" for p, v in values.items())
        return f"case primary_priority {whens} else {default} end"

    evidence = {p: _evidence_sql(compiled, e) for p, _, e in ruled}
    fb_evidence = _fallback_evidence(compiled)
    # the sub-tier explains itself with the values its rule read: carried as values and
    # rendered in the final select for the one sub-tier each row gets (not for every sub-tier)
    sub_refs = sorted(
        {c for _, e in subs if e for c in e.columns}
        | {n for _, e in subs if e for r in e.quantiles for n in (r.name, f"a_{r.name}")}
        - {"days_since_last_order", "orders_365d", "monetary_365d"}
    )
    carried = "".join(f", ms_{s.code}" for s, _ in subs) + "".join(f", {c}" for c in sub_refs)
    keep = f"days_since_last_order, orders_365d, monetary_365d{carried}"
    if policy.assignment == "priority":
        rows = f"""select
        as_of_date, customer_id,
        {by_priority({p: _lit(t.code) for p, t, _ in ruled}, _lit(fallback.code))} as tier_code,
        true as is_primary,
        primary_priority as priority,
        {by_priority({p: _lit(t.code) for p, t, _ in ruled}, "'fallback'")} as rule_id,
        {by_priority({p: _lit(rules_text[t.code]) for p, t, _ in ruled}, "'no rule matched'")} as rule,
        {by_priority(evidence, fb_evidence)} as evidence,
        {keep}
    from ranked"""
    else:
        parts = [
            f"""select as_of_date, customer_id, {_lit(t.code)} as tier_code,
        primary_priority = {p} as is_primary, {p} as priority, {_lit(t.code)} as rule_id,
        {_lit(rules_text[t.code])} as rule, {evidence[p]} as evidence, {keep}
    from ranked where m_{t.code}"""
            for p, t, _ in ruled
        ]
        parts.append(
            f"""select as_of_date, customer_id, {_lit(fallback.code)} as tier_code, true as is_primary,
        {fb_priority} as priority, 'fallback' as rule_id, 'no rule matched' as rule,
        {fb_evidence} as evidence, {keep}
    from ranked where primary_priority = {fb_priority}"""
        )
        rows = "\n    union all\n    ".join(parts)
    names_zh = " ".join(f"when {_lit(t.code)} then {_lit(t.name_zh)}" for t in policy.tiers)
    names_en = " ".join(f"when {_lit(t.code)} then {_lit(t.name_en)}" for t in policy.tiers)
    subtier = _subtier_sql(policy.subtiers)
    sub_names = {
        lang: " ".join(
            f"when {_lit(s.code)} then {_lit(getattr(s, 'name_' + lang))}" for s in policy.subtiers
        )
        for lang in ("zh", "en")
    }
    flag_sql = ",\n        ".join(flags) or "false as m__none"
    sub_evidence = " ".join(
        f"when {_lit(s.code)} then {_evidence_sql(compiled, e) if e else _lit('the rest')}"
        for s, e in subs
    )
    return f"""insert into {table} ({", ".join(ASSIGNMENTS_COLUMNS)})
with {features_cte},
{cut_cte},
scored as (
    select f.*{cut_cols}{_score_sql(compiled)}
    from features as f
    left join cut as c on c.as_of_date = f.as_of_date
),
flags as (
    select s.*,
        {flag_sql}
    from scored as s
),
ranked as (
    select flags.*, case {primary or "when false then 0"} else {fb_priority} end as primary_priority
    from flags
),
assigned as (
    {rows}
),
overrides as (
    {_overrides_sql(policy)}
),
pinned as (
    select a.*,
        o.tier_code as pinned_tier,
        o.reason as override_reason,
        o.until as override_until,
        coalesce(o.tier_code, a.tier_code) as final_tier
    from assigned as a
    left join overrides as o
        on o.customer_id = a.customer_id and a.as_of_date <= o.until
    where o.customer_id is null or a.is_primary
),
final as (
    select pinned.*, {subtier} as final_subtier
    from pinned
)
select
    as_of_date,
    customer_id,
    final_tier as tier_code,
    case final_tier {names_zh} end as tier_name_zh,
    case final_tier {names_en} end as tier_name_en,
    is_primary,
    case when pinned_tier is null then priority else 0 end as priority,
    case when pinned_tier is null then rule_id else 'override' end as rule_id,
    case when pinned_tier is null then rule else 'override: ' || override_reason end as rule,
    case when pinned_tier is null then evidence
        else 'pinned until ' || cast(override_until as varchar) || '; rules said ' || tier_code
            || ' (' || evidence || ')'
    end{f" || coalesce(' | ' || final_subtier || ': ' || case final_subtier {sub_evidence} end, '')" if policy.subtiers else ""} as evidence,
    {_lit(policy.version)} as policy_version,
    days_since_last_order as recency_days,
    orders_365d as frequency_365d,
    monetary_365d,
    {version_sql} as threshold_version,
    final_subtier as subtier_code,
    {f"case final_subtier {sub_names['zh']} end" if policy.subtiers else "cast(null as varchar)"} as subtier_name_zh,
    {f"case final_subtier {sub_names['en']} end" if policy.subtiers else "cast(null as varchar)"} as subtier_name_en,
    override_reason,
    override_until
from final"""


def _subtier_sql(subtiers: list[SubTier]) -> str:
    """The first matching sub-tier of the customer's final tier (null when the tier has none)."""
    if not subtiers:
        return "cast(null as varchar)"
    parents: dict[str, list[SubTier]] = {}
    for sub in subtiers:
        parents.setdefault(sub.parent, []).append(sub)
    whens = " ".join(
        f"when final_tier = {_lit(parent)} then case "
        + " ".join(f"when ms_{s.code} then {_lit(s.code)}" for s in subs)
        + " end"
        for parent, subs in parents.items()
    )
    return f"case {whens} end"


def _overrides_sql(policy: TierPolicy) -> str:
    rows = [
        f"select {_lit(c)} as customer_id, {_lit(o.tier)} as tier_code, {_lit(o.reason)} as reason, "
        f"date '{o.until.isoformat()}' as until"
        for o in policy.overrides
        for c in o.customers
    ]
    if not rows:
        return (
            "select cast(null as varchar) as customer_id, cast(null as varchar) as tier_code, "
            "cast(null as varchar) as reason, cast(null as date) as until where false"
        )
    return "\n    union all\n    ".join(rows)


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
