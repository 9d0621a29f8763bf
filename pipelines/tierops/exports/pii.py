"""PII in exported files, decided in SQL so clear text never leaves the warehouse unless asked.

Human files (CSV, XLSX) are masked (138****5678, a***@example.com); system files (Parquet) carry
sha256(salt || value) in a `<column>_sha256` column; only destinations marked `trusted` in
config/destinations.yaml receive clear text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

Mode = Literal["masked", "hashed", "clear"]


def masked_phone(column: str) -> str:
    """138****5678."""
    return (
        f"case when {column} is null then null "
        f"else substr({column}, 1, 3) || '****' || substr({column}, length({column}) - 3, 4) end"
    )


def masked_email(column: str) -> str:
    """a***@example.com."""
    return (
        f"case when {column} is null then null "
        f"else substr({column}, 1, 1) || '***' || substr({column}, strpos({column}, '@')) end"
    )


def masked_token(column: str) -> str:
    """oX3f****9a2c for openids, device ids and other tokens."""
    return (
        f"case when {column} is null then null "
        f"else substr({column}, 1, 4) || '****' || substr({column}, length({column}) - 3, 4) end"
    )


def masked(column: str, kind: str) -> str:
    return {"phone": masked_phone, "email": masked_email}.get(kind, masked_token)(column)


def hashed(column: str, salt: str) -> str:
    """Salted sha256 (hex) of the value; the same value hashes alike in every file and night."""
    return (
        f"case when {column} is null then null "
        f"else sha256({exp.Literal.string(salt).sql()} || {column}) end"
    )


@dataclass(frozen=True)
class Pii:
    """How one file shows contact points: `select pii(expr, kind, name)` gives `... as name`."""

    mode: Mode
    salt: str = ""

    def __call__(self, column: str, kind: str, name: str) -> str:
        if self.mode == "masked":
            return f"{masked(column, kind)} as {name}"
        if self.mode == "hashed":
            return f"{hashed(column, self.salt)} as {name}_sha256"
        return f"{column} as {name}"
