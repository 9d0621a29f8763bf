"""`config/destinations.yaml` and publishing a day's files to a local folder or any fsspec URL.

Files are always written into a local staging folder first by the same writers. Publishing a
local folder (a plain path or file://) swaps each top-level folder in by rename, so readers
never see half a day; on other filesystems (object stores have no rename) the old files of the
day are removed, the new ones uploaded, and manifest.json is written last: a day is complete
when its manifest lists it.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem
from pydantic import Field, model_validator

from tierops.exports.xlsx import SHEET_MAX_ROWS
from tierops.lib.configfile import StrictModel, load_model
from tierops.lib.files import write_bytes
from tierops.settings import Settings

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class PiiConfig(StrictModel):
    salt_env: str = Field("TIEROPS_PII_SALT", min_length=1)


class Destination(StrictModel):
    name: str = Field(pattern=NAME.pattern)
    url: str = ""
    trusted: bool = False
    storage_options: dict[str, str] = Field(default_factory=dict)


class DestinationsConfig(StrictModel):
    pii: PiiConfig = PiiConfig()
    # lists longer than this get no .xlsx (their .csv and .parquet are always complete)
    xlsx_max_rows: int = Field(100_000, ge=0, le=SHEET_MAX_ROWS)
    destinations: list[Destination] = Field(
        default_factory=lambda: [Destination(name="local")], min_length=1
    )

    @model_validator(mode="after")
    def _unique(self) -> DestinationsConfig:
        seen = set()
        for i, d in enumerate(self.destinations):
            if d.name in seen:
                raise ValueError(f"destinations[{i}].name: duplicate destination {d.name!r}")
            seen.add(d.name)
        return self


def load_destinations(config_dir: Path) -> DestinationsConfig:
    path = config_dir / "destinations.yaml"
    return load_model(DestinationsConfig, path) if path.exists() else DestinationsConfig()


def pii_salt(config: DestinationsConfig, settings: Settings) -> str:
    """The salt from the environment, else one random salt kept in the pipeline home."""
    value = os.environ.get(config.pii.salt_env)
    if value:
        return value
    path = settings.home / "pii_salt"
    if not path.exists():
        write_bytes(path, secrets.token_hex(16).encode())
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


class Target:
    """One destination, opened: an fsspec filesystem and the root path on it."""

    def __init__(self, destination: Destination, settings: Settings):
        self.destination = destination
        url = destination.url or str(settings.outputs_dir)
        self.fs, self.root = fsspec.core.url_to_fs(url, **destination.storage_options)
        self.root = self.root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def day_path(self, day: str) -> str:
        return f"{self.root}/{day}"

    @contextmanager
    def staging(self, day: str) -> Iterator[Path]:
        """A local folder to write the day's files into (next to the target when local)."""
        if self.is_local:
            parent = Path(self.day_path(day))
            parent.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
        else:
            folder = Path(tempfile.mkdtemp(prefix="tierops-export-"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, day: str, staged: Path, manifest: bytes) -> str:
        """Replace the day's folders with the staged ones; manifest.json last. Returns its path."""
        target = self.day_path(day)
        folders = sorted(p.name for p in staged.iterdir() if p.is_dir())
        if self.is_local:
            for name in folders:
                final, old = Path(target) / name, Path(target) / f".{name}-old"
                shutil.rmtree(old, ignore_errors=True)
                if final.exists():
                    final.rename(old)
                (staged / name).rename(final)
                shutil.rmtree(old, ignore_errors=True)
            manifest_path = Path(target) / "manifest.json"
            write_bytes(manifest_path, manifest)
            return str(manifest_path)
        for name in folders:
            if self.fs.exists(f"{target}/{name}"):
                self.fs.rm(f"{target}/{name}", recursive=True)
            for file in sorted(p for p in (staged / name).rglob("*") if p.is_file()):
                self.fs.put_file(str(file), f"{target}/{file.relative_to(staged).as_posix()}")
        self.fs.pipe_file(f"{target}/manifest.json", manifest)
        return f"{target}/manifest.json"
