"""Load operator-edited YAML into typed, validated objects.

Errors name the file, the key path and what was expected, because the people editing these files
never see a Python traceback they could act on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

T = TypeVar("T", bound=BaseModel)
_NESTED_KEY = re.compile(r"^([A-Za-z_][\w.\[\]-]*): ")


class ConfigError(ValueError):
    """A config file is missing, unreadable or does not match its schema."""

    def __init__(self, file: Path | str, key: str, problem: str):
        self.file = str(file)
        self.key = key
        self.problem = problem
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}")


class StrictModel(BaseModel):
    """Base for config schemas: unknown keys are typos, so they are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def key_path(loc: tuple[Any, ...]) -> str:
    """Render a pydantic location tuple as `tiers[2].when`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(path, "", "file not found")
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(path, "", f"not valid YAML ({where}): {exc}") from exc


def parse_model(model: type[T], data: Any, file: Path | str, context: dict | None = None) -> T:
    """Validate `data` against `model`, turning the first error into a ConfigError."""
    if data is None:
        raise ConfigError(file, "", f"file is empty; expected a mapping for {model.__name__}")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = key_path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        nested = _NESTED_KEY.match(msg)
        if nested:
            # model-level validators report the key inside the message: move it to the key path
            inner = nested.group(1)
            loc = f"{loc}.{inner}" if loc and not inner.startswith("[") else f"{loc}{inner}"
            msg = msg[nested.end() :]
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(_field_names(model, err["loc"][:-1])))
            msg = f"unknown key; expected one of: {allowed}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            msg = f"{msg} (got {err['input']!r})"
        raise ConfigError(file, loc, msg) from None


def key_line(path: Path, key: str) -> int | None:
    """1-based line of `key` (a path like `tiers[2].rule`) in a YAML file, or of its nearest parent."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", key):
        if node is None:
            break
        if part.startswith("[") and isinstance(node, yaml.SequenceNode):
            i = int(part[1:-1])
            node = node.value[i] if i < len(node.value) else None
        elif isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
            continue
        else:
            break
        if node is not None:
            line = node.start_mark.line + 1
    return line


def load_model(model: type[T], path: Path, context: dict | None = None) -> T:
    return parse_model(model, read_yaml(path), path, context)


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Best-effort list of allowed keys at `loc`, to suggest the right spelling."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        current = _inner_model(field.annotation) if field else None
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
