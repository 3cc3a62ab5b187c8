"""``stormhub check``: content and channels checked together, every problem at once."""

from __future__ import annotations

from pathlib import Path

from hub.config import ChannelConfig, check_channels
from hub.content import load_hub
from hub.errors import ContentError, Problem
from hub.located import Collector
from hub.model import Hub


def check_hub(root: Path | str) -> tuple[Hub, list[ChannelConfig], list[Problem]]:
    """Load the hub and its channels.

    Returns:
        The hub, its channel configs, and warnings: enabled channels whose
        environment variables are not set (named, never with values).

    Raises:
        ContentError: every problem in content/ and channels.yaml.
    """
    root = Path(root).resolve()
    out = Collector(root)
    configs, warnings = check_channels(root, out)
    try:
        hub = load_hub(root)
    except ContentError as exc:
        raise ContentError(exc.problems + out.problems) from None
    if out.problems:
        raise ContentError(out.problems)
    return hub, configs, warnings
