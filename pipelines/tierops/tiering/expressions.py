"""The rule language operators write: SQL-like boolean expressions over feature columns.

`days_since_last_order > 180`, `orders_365d >= 3 and aov_365d < p50(aov_365d)`,
`top_category_365d in ('beauty', 'baby')`. Parsed by sqlglot into a tree, checked node by node
against a whitelist (columns, operators, functions), then rendered for the target dialect. Text is
never pasted into SQL, so an expression cannot smuggle in a statement or a subquery.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.Tuple,
)
# Scalar functions an operator may call, by sqlglot class and by the name they type.
ALLOWED_FUNCTIONS: dict[str, type[exp.Expression]] = {
    "coalesce": exp.Coalesce,
    "abs": exp.Abs,
    "least": exp.Least,
    "greatest": exp.Greatest,
    "round": exp.Round,
}
QUANTILE_CALL = re.compile(r"^p(\d{1,2})$")


class ExpressionError(ValueError):
    """An expression that is not valid rule language; `position` is a 1-based column or None."""

    def __init__(self, text: str, problem: str, position: int | None = None):
        self.text = text
        self.problem = problem
        self.position = position
        where = f" at position {position}" if position else ""
        super().__init__(f"{problem}{where} in expression {text!r}")


@dataclass(frozen=True)
class QuantileRef:
    """`p90(monetary_365d)` or `quantile(monetary_365d, 0.9)`: a cut point over the population."""

    feature: str
    q: float

    @property
    def name(self) -> str:
        return f"q{round(self.q * 1000):04d}_{self.feature}"

    @property
    def label(self) -> str:
        """How an operator writes it: `p90(monetary_365d)` or `quantile(aov_365d, 0.975)`."""
        pct = self.q * 100
        if abs(pct - round(pct)) < 1e-9:
            return f"p{round(pct)}({self.feature})"
        return f"quantile({self.feature}, {self.q:g})"


@dataclass(frozen=True)
class Expression:
    text: str
    tree: exp.Expression
    columns: frozenset[str]
    quantiles: frozenset[QuantileRef]

    def render(
        self,
        dialect: str,
        column: Callable[[str], exp.Expression],
        quantile: Callable[[QuantileRef], exp.Expression] | None = None,
    ) -> str:
        """SQL for `dialect`, with each column and quantile reference replaced by the caller."""

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column):
                return column(node.name)
            ref = _quantile_ref(node, self.text)
            if ref is not None:
                if quantile is None:
                    raise ExpressionError(self.text, "quantile functions are not allowed here")
                return quantile(ref)
            return node

        return self.tree.copy().transform(swap).sql(dialect=dialect)


def parse(text: str, columns: Iterable[str], *, allow_quantiles: bool = True) -> Expression:
    """Parse and whitelist-check `text`; `columns` are the names it may reference."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(str(text), "expected a non-empty expression")
    if ";" in text:
        raise ExpressionError(
            text, "';' is not allowed (one expression, not statements)", text.index(";") + 1
        )
    if "--" in text or "/*" in text:
        pos = min(p for p in (text.find("--"), text.find("/*")) if p >= 0) + 1
        raise ExpressionError(text, "comments are not allowed", pos)
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except (ParseError, TokenError) as exc:
        errors = getattr(exc, "errors", None) or [{}]
        col = errors[0].get("col")
        raise ExpressionError(
            text, f"cannot parse: {errors[0].get('description') or exc}", col
        ) from None
    allowed = set(columns)
    used: set[str] = set()
    quantiles: set[QuantileRef] = set()
    for node in tree.walk():
        ref = _quantile_ref(node, text)
        if ref is not None:
            if not allow_quantiles:
                raise ExpressionError(
                    text, "quantile functions are not allowed here", _pos(text, node)
                )
            if ref.feature not in allowed:
                raise ExpressionError(
                    text,
                    f"unknown feature {ref.feature!r} in quantile; expected one of {_list(allowed)}",
                    _pos(text, ref.feature),
                )
            quantiles.add(ref)
            continue
        if _inside_quantile(node, text):
            continue
        if isinstance(node, exp.Column):
            if node.table:
                raise ExpressionError(
                    text, f"qualified name {node.sql()!r} is not allowed", _pos(text, node.sql())
                )
            if node.name not in allowed:
                raise ExpressionError(
                    text,
                    f"unknown feature {node.name!r}; expected one of {_list(allowed)}",
                    _pos(text, node.name),
                )
            used.add(node.name)
        elif isinstance(node, exp.Func) and not isinstance(
            node, (*ALLOWED_NODES, *ALLOWED_FUNCTIONS.values())
        ):
            name = (
                node.sql_name().lower()
                if not isinstance(node, exp.Anonymous)
                else node.name.lower()
            )
            raise ExpressionError(
                text,
                f"function {name!r} is not allowed; expected one of "
                f"{', '.join([*ALLOWED_FUNCTIONS, 'pNN(feature)', 'quantile(feature, q)'])}",
                _pos(text, name),
            )
        elif not isinstance(node, (*ALLOWED_NODES, *ALLOWED_FUNCTIONS.values())):
            raise ExpressionError(
                text, f"{type(node).__name__} is not allowed in a rule", _pos(text, node)
            )
    return Expression(text=text, tree=tree, columns=frozenset(used), quantiles=frozenset(quantiles))


def _quantile_ref(node: exp.Expression, text: str) -> QuantileRef | None:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        args = node.expressions
        match = QUANTILE_CALL.match(name)
        if match and len(args) == 1 and isinstance(args[0], exp.Column):
            q = int(match.group(1)) / 100
            if not 0 < q < 1:
                raise ExpressionError(text, f"{name}: percentile must be between p1 and p99")
            return QuantileRef(args[0].name, q)
        if name == "quantile":
            if (
                len(args) == 2
                and isinstance(args[0], exp.Column)
                and isinstance(args[1], exp.Literal)
            ):
                q = float(args[1].this)
                if not 0 < q < 1:
                    raise ExpressionError(text, "quantile(feature, q): q must be between 0 and 1")
                return QuantileRef(args[0].name, q)
            raise ExpressionError(
                text, "expected quantile(feature, q) with a number q", _pos(text, "quantile")
            )
    if isinstance(node, exp.Quantile):  # sqlglot may parse quantile(...) into its own node
        this, q = node.this, node.args.get("quantile")
        if isinstance(this, exp.Column) and isinstance(q, exp.Literal):
            value = float(q.this)
            if not 0 < value < 1:
                raise ExpressionError(text, "quantile(feature, q): q must be between 0 and 1")
            return QuantileRef(this.name, value)
        raise ExpressionError(
            text, "expected quantile(feature, q) with a number q", _pos(text, "quantile")
        )
    return None


def _inside_quantile(node: exp.Expression, text: str) -> bool:
    parent = node.parent
    while parent is not None:
        if _quantile_ref(parent, text) is not None:
            return True
        parent = parent.parent
    return False


def _pos(text: str, needle: object) -> int | None:
    token = needle if isinstance(needle, str) else getattr(needle, "name", "") or str(needle)
    idx = text.lower().find(str(token).lower()) if token else -1
    return idx + 1 if idx >= 0 else None


def _list(names: Iterable[str]) -> str:
    items = sorted(names)
    return ", ".join(items[:12]) + (f", … ({len(items)} in all)" if len(items) > 12 else "")
