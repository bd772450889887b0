"""Where a configured model, transcoder set or data file lives."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def local_path(name: str) -> Path | None:
    """The local file or directory `name` names: absolute, else relative to the current
    directory, else relative to the repository root; None when none exists (then `name` is
    a hub id)."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path if path.exists() else None
    for base in (Path.cwd(), REPO_ROOT):
        if (base / path).exists():
            return (base / path).resolve()
    return None


def resolve_name(name: str) -> str:
    """A local path as an absolute string, else `name` unchanged (a Hugging Face id)."""
    path = local_path(name)
    return str(path) if path is not None else name


def offline(name: str) -> bool:
    """Read `name` without the hub: a local file or directory, or HF_HUB_OFFLINE=1."""
    return local_path(name) is not None or os.environ.get("HF_HUB_OFFLINE") == "1"
