"""Changes the commands make to content files, each checked before it is kept."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from hub.content import FRONT_MATTER, load_hub, now_utc
from hub.errors import ContentError, HubError


def update_file(root: Path, update_id: str) -> Path:
    matches = sorted((root / "content" / "updates").rglob(f"{update_id}.md"))
    if not matches:
        raise HubError(f"no update {update_id!r}: use a file name from content/updates/")
    return matches[0]


def mark_retracted(
    root: Path | str, update_id: str, reason: str = "", now: dt.datetime | None = None
) -> Path:
    """Add ``retracted:`` (and ``retraction:``) to an update's front matter.

    The file is rewritten in one step and the whole hub re-checked; on any
    problem the original is put back and the problems are raised.
    """
    root = Path(root).resolve()
    path = update_file(root, update_id)
    original = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(original)
    if match is None:
        raise HubError(f"{path.relative_to(root)}: has no front matter: run stormhub check")
    front = yaml.safe_load(match.group(1)) or {}
    if front.get("retracted"):
        raise HubError(f"{update_id} was already retracted at {front['retracted']}")
    stamp = (now or now_utc()).astimezone(dt.UTC).isoformat(timespec="seconds")
    lines = f"retracted: {stamp}\n"
    if reason.strip():
        lines += yaml.safe_dump({"retraction": reason.strip()}, allow_unicode=True, width=10**6)
    end = match.end(1)
    _write(path, original[:end] + lines + original[end:])
    try:
        load_hub(root)
    except ContentError:
        _write(path, original)
        raise
    return path


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
