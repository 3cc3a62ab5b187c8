"""Each channel type pointed at its simulated platform: ``tests/channels/<type>.py``.

Every module has ``make(url, tmp) -> (config, env)``: the channel's config aimed at the
simulator at *url* (timeout 1 s) and the environment variables it needs, with fake
values. :func:`every_channel` sets up one of each for the engine-wide tests.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from hub.channels import ADAPTERS
from hub.config import ChannelConfig, OutboxConfig
from hub.simulator import PlatformSim, Simulator, platform_for

TYPES = sorted(t for t in ADAPTERS if t != "outbox")


def platforms(types: list[str] | None = None) -> dict[str, PlatformSim]:
    """A fresh simulated platform per channel type, named after the type."""
    made = {kind: platform_for(kind) for kind in types or TYPES}
    return {kind: platform for kind, platform in made.items() if platform is not None}


def every_channel(
    sim: Simulator, tmp: Path, types: list[str] | None = None, **common: Any
) -> tuple[list[ChannelConfig], dict[str, str]]:
    """One channel of each type (named after it) aimed at *sim*, plus an outbox.

    *common* is applied to every config (e.g. ``timeout=2``).
    """
    configs: list[ChannelConfig] = [OutboxConfig(name="outbox", folder=str(tmp / "outbox"))]
    env: dict[str, str] = {}
    for kind in types or TYPES:
        setup = importlib.import_module(f"tests.channels.{kind}")
        config, values = setup.make(sim.url(kind), tmp)
        configs.append(config.but(name=kind, **common))
        env.update(values)
    return configs, env


def channels_yaml(configs: list[ChannelConfig]) -> str:
    """*configs* written as a ``channels.yaml``."""
    entries = []
    for config in configs:
        entry = {"name": config.name, "type": config.type}
        entry.update(config.model_dump(mode="json", exclude_defaults=True, by_alias=True))
        entries.append(entry)
    return yaml.safe_dump({"channels": entries}, sort_keys=False, allow_unicode=True)
