"""``stormhub init --template NAME DIR``: a ready hub on standby, from a shipped template.

Each template in ``hub/templates/<name>/`` is a complete hub (``content/`` on
standby with tips, contacts to replace, resources and prepared first updates in
``content/templates/``; ``channels.yaml``; ``mkdocs.yml``) that passes
``stormhub check`` and builds as it is. The new folder appears whole or not at all.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hub.errors import HubError

TEMPLATES = Path(__file__).parent / "templates"
GITIGNORE = (
    "# Built by stormhub build, and the ledger and drills of the fan-out.\nsite/\n.stormhub/\n"
)


def template_names() -> list[str]:
    """The shipped hub templates."""
    return sorted(p.name for p in TEMPLATES.iterdir() if (p / "content" / "hub.yaml").is_file())


def init_hub(template: str, target: Path | str) -> Path:
    """Create a hub from *template* at *target* (a new or empty folder).

    Raises:
        HubError: unknown template, or *target* exists and is not an empty folder.
    """
    names = template_names()
    if template not in names:
        raise HubError(f"unknown template {template!r}: use one of {', '.join(names)}")
    target = Path(target).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise HubError(
            f"{target} is not empty: choose a new folder, so nothing of yours is overwritten"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        hub = staging / "hub"
        shutil.copytree(TEMPLATES / template, hub, ignore=shutil.ignore_patterns("__pycache__"))
        (hub / "docs").mkdir(exist_ok=True)
        (hub / "docs" / ".keep").write_text("", encoding="utf-8")
        (hub / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        if target.exists():
            target.rmdir()  # empty, checked above
        hub.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def init_command(template: str, target: Path) -> None:
    """``stormhub init``: create the hub and say what to do next."""
    import click

    made = init_hub(template, target)
    click.echo(
        f"Created a {template} hub on standby in {made}.\n"
        "Next: replace every value marked REPLACE (content/hub.yaml, content/contacts.yaml, "
        "mkdocs.yml, channels.yaml), then run stormhub check and stormhub build there.\n"
        "When the emergency begins: stormhub activate --by NAME --template ID "
        "(prepared updates are in content/templates/)."
    )
