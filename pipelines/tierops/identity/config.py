"""`config/identity.yaml`: guards that stop junk identifiers from gluing strangers together."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import Field, field_validator

from tierops.ingestion.schema import IDENTIFIER_TYPES
from tierops.lib.configfile import StrictModel, load_model


class IdentityConfig(StrictModel):
    blocklist: dict[str, list[str]] = Field(
        default_factory=dict, description="Identifier values that never link records, per type"
    )
    max_partners_per_type: int = Field(
        2,
        ge=1,
        description="An identifier linked to more distinct identifiers of one type is a hub",
    )
    max_component_size: int = Field(
        200,
        ge=2,
        description="A component with more identifiers is not stitched (each stays on its own)",
    )

    @field_validator("blocklist")
    @classmethod
    def _types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for id_type in value:
            if id_type not in IDENTIFIER_TYPES:
                raise ValueError(
                    f"{id_type}: unknown identifier type; expected one of {', '.join(IDENTIFIER_TYPES)}"
                )
        return {k: [normalize_blocklisted(k, str(v)) for v in vs] for k, vs in value.items()}

    def to_env(self) -> str:
        """JSON for dbt's identity_setting() macro."""
        return json.dumps(self.model_dump(), sort_keys=True, ensure_ascii=False)


def normalize_blocklisted(id_type: str, value: str) -> str:
    """A blocklist entry in the form the identity models compare against (as staging normalises)."""
    value = value.strip()
    if id_type == "email":
        return value.lower()
    if id_type == "phone":
        digits = re.sub(r"[^0-9]", "", value)
        return digits[2:] if len(digits) == 13 and digits.startswith("861") else digits
    return value


def load_identity_config(config_dir: Path) -> IdentityConfig:
    path = config_dir / "identity.yaml"
    return load_model(IdentityConfig, path) if path.exists() else IdentityConfig()
