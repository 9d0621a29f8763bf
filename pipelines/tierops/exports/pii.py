"""PII in exported files: masked for people by default, in SQL so clear text never leaves the warehouse."""

from __future__ import annotations


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
