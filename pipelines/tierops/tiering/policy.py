"""`config/tier_policy.yaml`: which tiers exist, in which priority, and the rule for each."""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from tierops.lib.configfile import ConfigError, StrictModel, key_line, load_model
from tierops.tiering import expressions

TIER_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class QuantileCut(StrictModel):
    """A band of a feature's distribution, in percent of the quantile population.

    `top: 10` is the highest 10 %, `bottom: 20` the lowest 20 %, `between: [20, 90]` the band from
    the 20th to the 90th percentile. `middle: 70` is the 70 % directly below the `top` band of the
    same feature (or directly above its `bottom` band; centred when there is neither), so
    `top: 10`, `middle: 70`, `bottom: 20` tile the whole population and must add up to 100.
    """

    feature: str
    top: float | None = Field(None, gt=0, lt=100)
    bottom: float | None = Field(None, gt=0, lt=100)
    middle: float | None = Field(None, gt=0, lt=100)
    between: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> QuantileCut:
        given = [k for k in ("top", "bottom", "middle", "between") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "expected exactly one of top, bottom, middle, between (percent of the "
                f"population); got {', '.join(given) or 'none'}"
            )
        if self.between is not None:
            lo, hi = self.between
            if not 0 <= lo < hi <= 100:
                raise ValueError(
                    f"between: expected [from, to] with 0 <= from < to <= 100, got [{lo:g}, {hi:g}]"
                )
        return self

    @property
    def share(self) -> float:
        if self.between is not None:
            return self.between[1] - self.between[0]
        return self.top or self.bottom or self.middle or 0.0


def _pct_ref(feature: str, pct: float) -> str:
    if abs(pct - round(pct)) < 1e-9 and 1 <= round(pct) <= 99:
        return f"p{round(pct)}({feature})"
    return f"quantile({feature}, {pct / 100:.6g})"


def band_expression(feature: str, lo: float, hi: float) -> str:
    """Rule text for values between the lo-th and hi-th percentile ([lo, hi) in percent)."""
    parts = []
    if lo > 0:
        parts.append(f"{feature} >= {_pct_ref(feature, lo)}")
    if hi < 100:
        parts.append(f"{feature} < {_pct_ref(feature, hi)}")
    return " and ".join(parts) or f"{feature} is not null"


class Tier(StrictModel):
    code: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    priority: int | None = Field(
        None, ge=1, description="Lower wins; default: the order of the list"
    )
    rule: str | None = Field(
        None, description="Expression over feature columns; omit only for the fallback tier"
    )
    cut: QuantileCut | None = Field(None, description="A quantile band (ANDed with rule)")
    description: str = ""

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not TIER_CODE.match(value):
            raise ValueError("expected a lower_snake_case code such as high_value")
        return value


class SubTier(Tier):
    """A finer split inside one tier; the first matching sub-tier of the parent wins."""

    parent: str


class Override(StrictModel):
    """Pin customers to a tier, whatever the rules say, until a day (inclusive)."""

    customers: list[str] = Field(min_length=1)
    tier: str
    reason: str = Field(min_length=3)
    until: date


class ScoreSpec(StrictModel):
    feature: str
    levels: int = Field(5, ge=2, le=10)
    higher_is_better: bool = True

    def quantile_points(self) -> list[float]:
        return [round(100 * k / self.levels, 4) for k in range(1, self.levels)]


class ScoreModel(StrictModel):
    """R/F/M scores 1..levels from frozen quantile cut points (one level per cut point the value
    is strictly better than); rules use r_score, f_score, m_score and (with all three) rfm_score."""

    recency: ScoreSpec | None = None
    frequency: ScoreSpec | None = None
    monetary: ScoreSpec | None = None

    def specs(self) -> dict[str, ScoreSpec]:
        named = {"r_score": self.recency, "f_score": self.frequency, "m_score": self.monetary}
        return {k: v for k, v in named.items() if v is not None}

    def columns(self) -> list[str]:
        names = list(self.specs())
        return names + (["rfm_score"] if len(names) == 3 else [])


class ThresholdAdjustment(StrictModel):
    """A business adjustment on top of a calibrated cut point; recorded with every tier it moves."""

    cut: str = Field(description="The cut point as written in rules, e.g. p90(monetary_365d)")
    set_to: float | None = None
    multiply: float | None = None
    add: float | None = None
    reason: str = Field(min_length=3)
    until: date | None = Field(None, description="Last day the adjustment applies (inclusive)")

    @model_validator(mode="after")
    def _one_change(self) -> ThresholdAdjustment:
        given = [k for k in ("set_to", "multiply", "add") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one of set_to, multiply, add; got {', '.join(given) or 'none'}"
            )
        return self

    def apply(self, value: float | None) -> float | None:
        if self.set_to is not None:
            return self.set_to
        if value is None:
            return None
        return value * self.multiply if self.multiply is not None else value + (self.add or 0.0)

    def describe(self) -> str:
        change = (
            f"set to {self.set_to:g}"
            if self.set_to is not None
            else f"x{self.multiply:g}"
            if self.multiply is not None
            else f"{self.add:+g}"
        )
        until = f" until {self.until}" if self.until else ""
        return f"{change}{until}: {self.reason}"


class TierPolicy(StrictModel):
    version: str = Field(min_length=1)
    industry: Literal["retail", "saas", "content", "services"] = "retail"
    description: str = ""
    assignment: Literal["priority", "overlapping"] = "priority"
    population: str = Field(
        "orders_total > 0 or is_member = 1", description="Who receives a tier at all"
    )
    quantile_population: str = Field(
        "orders_365d > 0", description="Whose values define pNN(...) cut points"
    )
    when_features_missing: Literal["reduced", "fail"] = Field(
        "reduced",
        description="A run whose feeds cannot supply a feature the policy uses: switch to the "
        "orders-only preset (reduced mode) or fail",
    )
    scores: ScoreModel | None = None
    tiers: list[Tier] = Field(min_length=1)
    subtiers: list[SubTier] = Field(default_factory=list)
    fallback: str
    overrides: list[Override] = Field(default_factory=list)
    threshold_adjustments: list[ThresholdAdjustment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _structure(self) -> TierPolicy:
        seen: dict[str, str] = {}
        for i, tier in enumerate(self.tiers):
            if tier.code in seen:
                raise ValueError(
                    f"tiers[{i}].code: duplicate tier code {tier.code!r} (also {seen[tier.code]})"
                )
            seen[tier.code] = f"tiers[{i}]"
        if self.fallback not in seen:
            raise ValueError(
                f"fallback: {self.fallback!r} is not a tier code; expected one of {', '.join(seen)}"
            )
        for i, tier in enumerate(self.tiers):
            if tier.rule is None and tier.cut is None and tier.code != self.fallback:
                raise ValueError(
                    f"tiers[{i}].rule: required (or a cut) for every tier except the fallback"
                )
        self._check_priorities()
        self._check_subtiers(seen)
        self.bands()
        for i, override in enumerate(self.overrides):
            if override.tier not in seen:
                raise ValueError(
                    f"overrides[{i}].tier: {override.tier!r} is not a tier code; expected one of "
                    f"{', '.join(seen)}"
                )
        pinned: dict[str, int] = {}
        for i, override in enumerate(self.overrides):
            for j, customer in enumerate(override.customers):
                if customer in pinned:
                    raise ValueError(
                        f"overrides[{i}].customers[{j}]: {customer!r} is already pinned by "
                        f"overrides[{pinned[customer]}]; expected each customer at most once"
                    )
                pinned[customer] = i
        cuts = [a.cut.replace(" ", "") for a in self.threshold_adjustments]
        for i, cut in enumerate(cuts):
            if cut in cuts[:i]:
                raise ValueError(
                    f"threshold_adjustments[{i}].cut: {cut} is adjusted twice; expected one "
                    "adjustment per cut point"
                )
        return self

    def _check_priorities(self) -> None:
        given = [(i, t.priority) for i, t in enumerate(self.tiers) if t.priority is not None]
        if not given:
            return
        if len(given) != len(self.tiers):
            i = next(i for i, t in enumerate(self.tiers) if t.priority is None)
            raise ValueError(
                f"tiers[{i}].priority: expected a priority on every tier once one tier has one"
            )
        owner: dict[int, int] = {}
        for i, p in given:
            if p in owner:
                raise ValueError(
                    f"tiers[{i}].priority: overlapping priorities: {p} is also the priority of "
                    f"tiers[{owner[p]}] ({self.tiers[owner[p]].code}); expected a unique number "
                    "per tier (lower wins)"
                )
            owner[p] = i

    def _check_subtiers(self, tiers: dict[str, str]) -> None:
        seen = dict(tiers)
        for i, sub in enumerate(self.subtiers):
            if sub.parent not in tiers:
                raise ValueError(
                    f"subtiers[{i}].parent: {sub.parent!r} is not a tier code; expected one of "
                    f"{', '.join(tiers)}"
                )
            if sub.code in seen:
                raise ValueError(
                    f"subtiers[{i}].code: duplicate code {sub.code!r} (also {seen[sub.code]})"
                )
            seen[sub.code] = f"subtiers[{i}]"
        for parent in {s.parent for s in self.subtiers}:
            mine = [(i, s) for i, s in enumerate(self.subtiers) if s.parent == parent]
            for i, sub in mine[:-1]:
                if sub.rule is None and sub.cut is None:
                    raise ValueError(
                        f"subtiers[{i}].rule: required; only the last sub-tier of {parent!r} "
                        "may omit it (it takes the rest)"
                    )

    def bands(self) -> dict[str, tuple[float, float]]:
        """Resolved [lo, hi) percent band of every cut, by key (`tiers[i]` / `subtiers[i]`)."""
        out: dict[str, tuple[float, float]] = {}
        groups: dict[tuple[str, str], list[tuple[str, QuantileCut]]] = {}
        for kind, items in (("tiers", self.tiers), ("subtiers", self.subtiers)):
            for i, item in enumerate(items):
                if item.cut is not None:
                    scope = item.parent if isinstance(item, SubTier) else ""
                    groups.setdefault((scope, item.cut.feature), []).append(
                        (f"{kind}[{i}]", item.cut)
                    )
        for (_, feature), cuts in groups.items():
            tops = [c.top for _, c in cuts if c.top is not None]
            bottoms = [c.bottom for _, c in cuts if c.bottom is not None]
            for key, cut in cuts:
                if cut.top is not None:
                    out[key] = (100 - cut.top, 100.0)
                elif cut.bottom is not None:
                    out[key] = (0.0, cut.bottom)
                elif cut.between is not None:
                    out[key] = (float(cut.between[0]), float(cut.between[1]))
                elif tops:
                    out[key] = (100 - tops[0] - cut.middle, 100 - tops[0])
                elif bottoms:
                    out[key] = (bottoms[0], bottoms[0] + cut.middle)
                else:
                    out[key] = ((100 - cut.middle) / 2, (100 + cut.middle) / 2)
                lo, hi = out[key]
                if lo < 0 or hi > 100:
                    raise ValueError(
                        f"{key}.cut: shares on {feature} do not add up: the band would span "
                        f"{lo:g}..{hi:g} %; expected a band inside 0..100 %"
                    )
            has_middle = any(c.middle is not None for _, c in cuts)
            total = sum(c.share for _, c in cuts)
            if has_middle and (tops or bottoms) and abs(total - 100) > 1e-9:
                parts = " + ".join(
                    f"{k}={'top' if c.top else 'bottom' if c.bottom else 'middle' if c.middle else 'between'} {c.share:g}"
                    for k, c in cuts
                )
                raise ValueError(
                    f"{cuts[-1][0]}.cut: shares on {feature} add up to {total:g} % ({parts}); "
                    "expected 100 %"
                )
            ordered = sorted((out[k], k) for k, _ in cuts)
            for (a, ka), (b, kb) in pairwise(ordered):
                if b[0] < a[1] - 1e-9:
                    raise ValueError(
                        f"{kb}.cut: quantile band {b[0]:g}..{b[1]:g} % of {feature} overlaps "
                        f"{ka} ({a[0]:g}..{a[1]:g} %); expected bands that do not overlap"
                    )
        return out

    def ordered_tiers(self) -> list[Tier]:
        """Tiers by priority (lower first); list order when no priorities are given."""
        if all(t.priority is None for t in self.tiers):
            return list(self.tiers)
        return sorted(self.tiers, key=lambda t: t.priority or 0)

    def tier(self, code: str) -> Tier:
        return next(t for t in self.tiers if t.code == code)

    def effective_rule(self, key: str) -> str | None:
        """The rule text a tier or sub-tier is evaluated with: `rule and cut band`."""
        kind, index = key.split("[")
        item = (self.tiers if kind == "tiers" else self.subtiers)[int(index.rstrip("]"))]
        parts = []
        if item.rule:
            parts.append(item.rule)
        if item.cut is not None:
            lo, hi = self.bands()[key]
            parts.append(band_expression(item.cut.feature, lo, hi))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)


def check_expressions(
    policy: TierPolicy, columns: set[str], file: Path | str
) -> dict[str, expressions.Expression]:
    """Parse every expression against the feature columns; errors name the key and position.

    Keys of the result: `population`, `quantile_population`, `tiers[i].rule`, `subtiers[i].rule`
    (rule and cut band combined) and `threshold_adjustments[i].cut`.
    """
    parsed: dict[str, expressions.Expression] = {}
    score_columns = policy.scores.columns() if policy.scores else []
    for name, spec in (policy.scores.specs() if policy.scores else {}).items():
        if spec.feature not in columns:
            raise ConfigError(
                file,
                f"scores.{_SCORE_KEYS[name]}.feature",
                f"unknown feature {spec.feature!r}; expected one of {expressions._list(columns)}",
            )
    rule_columns = set(columns) | set(score_columns)
    for i, item in [*enumerate(policy.tiers), *enumerate(policy.subtiers)]:
        kind = "subtiers" if isinstance(item, SubTier) else "tiers"
        if item.cut is not None and item.cut.feature not in columns:
            raise ConfigError(
                file,
                f"{kind}[{i}].cut.feature",
                f"unknown feature {item.cut.feature!r}; expected one of {expressions._list(columns)}",
            )
    targets = [
        ("population", policy.population, False),
        ("quantile_population", policy.quantile_population, False),
    ]
    for kind, items in (("tiers", policy.tiers), ("subtiers", policy.subtiers)):
        for i, item in enumerate(items):
            if item.rule is not None:
                targets.append((f"{kind}[{i}].rule", item.rule, True))
    for key, text, allow_q in targets:
        allowed = rule_columns if key not in ("population", "quantile_population") else columns
        try:
            parsed[key] = expressions.parse(text, allowed, allow_quantiles=allow_q)
        except expressions.ExpressionError as exc:
            raise ConfigError(file, key, str(exc)) from None
    for kind, items in (("tiers", policy.tiers), ("subtiers", policy.subtiers)):
        for i, item in enumerate(items):
            if item.cut is not None:
                key = f"{kind}[{i}]"
                parsed[f"{key}.rule"] = expressions.parse(policy.effective_rule(key), rule_columns)
    used = {q for e in parsed.values() for q in e.quantiles} | set(score_quantiles(policy))
    for i, adj in enumerate(policy.threshold_adjustments):
        key = f"threshold_adjustments[{i}].cut"
        try:
            cut = expressions.parse(adj.cut, columns)
        except expressions.ExpressionError as exc:
            raise ConfigError(file, key, str(exc)) from None
        ref = next(iter(cut.quantiles), None)
        if ref is None or cut.columns or not isinstance(cut.tree, (exp.Anonymous, exp.Quantile)):
            raise ConfigError(
                file, key, f"expected one cut point such as p90(monetary_365d), got {adj.cut!r}"
            )
        if ref not in used:
            labels = ", ".join(sorted(q.label for q in used)) or "none"
            raise ConfigError(
                file, key, f"{ref.label} is not used by any rule; expected one of: {labels}"
            )
        parsed[key] = cut
    return parsed


_SCORE_KEYS = {"r_score": "recency", "f_score": "frequency", "m_score": "monetary"}


def score_quantiles(policy: TierPolicy) -> dict[expressions.QuantileRef, str]:
    """Cut points of the score model → the score column that uses them."""
    out: dict[expressions.QuantileRef, str] = {}
    for name, spec in (policy.scores.specs() if policy.scores else {}).items():
        for pct in spec.quantile_points():
            out[expressions.QuantileRef(spec.feature, round(pct / 100, 6))] = name
    return out


def adjustments_by_cut(
    policy: TierPolicy, parsed: dict[str, expressions.Expression]
) -> dict[str, ThresholdAdjustment]:
    """Adjustment per cut-point name (QuantileRef.name)."""
    out = {}
    for i, adj in enumerate(policy.threshold_adjustments):
        ref = next(iter(parsed[f"threshold_adjustments[{i}].cut"].quantiles))
        out[ref.name] = adj
    return out


def with_line(exc: ConfigError) -> ConfigError:
    """The same error, with the line of the offending key in the file."""
    line = key_line(Path(exc.file), exc.key) if exc.key else None
    if line is None:
        return exc
    return ConfigError(exc.file, exc.key, f"{exc.problem} (line {line})")


def load_policy(config_dir: Path, file: Path | None = None) -> TierPolicy:
    try:
        return load_model(TierPolicy, file or config_dir / "tier_policy.yaml")
    except ConfigError as exc:
        raise with_line(exc) from None
