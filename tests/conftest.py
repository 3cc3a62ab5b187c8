from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.model import Hub

ROOT = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.UTC)

MKDOCS_YML = """\
site_name: Test Hub
site_url: https://hub.example.org/
docs_dir: docs
theme:
  name: material
  font: false
plugins:
  - search
  - stormhub
extra:
  generator: false
"""

HUB_YAML = """\
organisation: Test Health
event: Hurricane Test
status: active
timezone: America/New_York
country: US
languages: [en]
banner:
  text: Stay indoors.
  severity: warning
"""

UPDATE_MD = """\
---
time: 2026-11-27 06:15
title: Emergency Department open
severity: warning
tags: [power]
---
The Emergency Department is open on generator power.
"""

HubFactory = Callable[..., Path]


def state(root: Path) -> list[str]:
    """What the hub's ``.stormhub`` folder holds besides caches (of work, never of output)."""
    folder = root / ".stormhub"
    return sorted(p.name for p in folder.iterdir() if p.name != "cache") if folder.exists() else []


def write(root: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = root / name
        if text is None:
            if path.exists():
                path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def make_hub(tmp_path: Path) -> HubFactory:
    """A minimal valid hub in tmp_path; *files* adds or replaces (None deletes) files."""

    def factory(files: dict[str, str | None] | None = None) -> Path:
        root = tmp_path / "hub"
        write(
            root,
            {
                "mkdocs.yml": MKDOCS_YML,
                "content/hub.yaml": HUB_YAML,
                "content/updates/2026-11-27-0615-ed-open.md": UPDATE_MD,
                "docs/.keep": "",
            },
        )
        write(root, files or {})
        return root

    return factory


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample hub (the repository's own content/), built once at a fixed moment."""
    from hub.site.build import build_site

    return build_site(ROOT, site_dir=tmp_path_factory.mktemp("sample") / "site", now=NOW)


@pytest.fixture(scope="session")
def sample_hub() -> Hub:
    from hub.content import load_hub

    return load_hub(ROOT)
