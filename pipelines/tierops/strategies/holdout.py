"""Stable holdout assignment, computed in SQL so it runs on any warehouse.

A customer is in an action's holdout when the first 8 hex digits of
md5(salt ':' action_id ':' customer_id) are below share × 16^8. md5 returning lowercase hex exists
on DuckDB, Postgres, Snowflake, Spark, Redshift (sqlglot renders BigQuery's to_hex(md5(...))), and
comparing equal-length lowercase hex strings orders them like the numbers they spell, so no
engine-specific hex-to-integer conversion is needed. The same customer and action land in the
same group every night, whatever else changed; actions belong to one tier, so the holdout is
drawn independently inside every tier (stratified by tier).
"""

from __future__ import annotations

import hashlib

HEX_DIGITS = 8
SPACE = 16**HEX_DIGITS


def threshold_hex(share: float) -> str:
    """Hash prefixes below this string are holdout; share 0 → '00000000' (nobody)."""
    if not 0 <= share < 1:
        raise ValueError(f"holdout share must be in [0, 1), got {share}")
    return f"{int(share * SPACE):0{HEX_DIGITS}x}"


def holdout_key_sql(salt: str, action_id_sql: str, customer_id_sql: str) -> str:
    return (
        f"substr(md5({_lit(salt + ':')} || {action_id_sql} || ':' || {customer_id_sql}), "
        f"1, {HEX_DIGITS})"
    )


def is_holdout(salt: str, action_id: str, customer_id: str, share: float) -> bool:
    """The same rule in Python (for tests and for explaining a single customer's group)."""
    key = hashlib.md5(f"{salt}:{action_id}:{customer_id}".encode()).hexdigest()[:HEX_DIGITS]
    return key < threshold_hex(share)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
