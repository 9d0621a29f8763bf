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


def masked_token(column: str) -> str:
    """oX3f****9a2c for openids, device ids and other tokens."""
    return (
        f"case when {column} is null then null "
        f"else substr({column}, 1, 4) || '****' || substr({column}, length({column}) - 3, 4) end"
    )


def masked(column: str, kind: str) -> str:
    return {"phone": masked_phone, "email": masked_email}.get(kind, masked_token)(column)
