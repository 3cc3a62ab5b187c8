"""``stormhub drill``: rehearse the whole fan-out against the loopback simulator.

Every enabled channel is pointed at its own simulated platform, given drill
credentials where its environment has none, and sent every update through the
real adapters and SDKs. The drill keeps its own ledger and outbox under
``.stormhub/drill/``, so it never touches what the real fan-out recorded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hub.config import ChannelConfig, OutboxConfig
from hub.fanout import Fanout, Outcome, Report, RetryPolicy
from hub.model import Hub
from hub.simulator import PlatformSim, Simulator, platform_for

DRILL_DIR = Path(".stormhub/drill")


def _point(config: ChannelConfig, url: str) -> ChannelConfig:
    """*config* aimed at the simulated platform at *url*."""
    parts = urlsplit(url)
    changes: dict[str, dict[str, object]] = {
        "x": {"api_base_url": url},
        "mastodon": {"api_base_url": url},
        "bluesky": {"service": url},
        "email": {"host": parts.hostname, "port": parts.port, "security": "none"},
    }
    return config.model_copy(update=changes.get(config.type, {}))


@contextmanager
def drill_credentials(configs: list[ChannelConfig]) -> Iterator[None]:
    """Set a drill value for each credential variable that is not set, then restore."""
    added = []
    for config in configs:
        for name in config.missing_env():
            os.environ[name] = f"drill-{name.lower()}"
            added.append(name)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@dataclass
class DrillResult:
    report: Report
    received: dict[str, list[str]]  # channel name -> what its platform now holds
    configs: list[ChannelConfig]


def run_drill(
    hub: Hub,
    configs: list[ChannelConfig],
    root: Path,
    *,
    progress: Callable[[Outcome], None] | None = None,
    policy: RetryPolicy | None = None,
) -> DrillResult:
    """Run the fan-out for every enabled channel against a fresh simulator."""
    drill_dir = root / DRILL_DIR
    shutil.rmtree(drill_dir, ignore_errors=True)
    drill_dir.mkdir(parents=True)
    platforms: dict[str, PlatformSim] = {}
    for config in configs:
        if config.enabled:
            platform = platform_for(config.type)
            if platform is not None:
                limit = getattr(config, "max_characters", None)
                if limit is not None and hasattr(platform, "max_characters"):
                    platform.max_characters = limit  # the instance limit the channel is set to
                platforms[config.name] = platform  # one simulated platform per channel
    with Simulator(platforms) as sim:
        pointed = []
        for config in (c for c in configs if c.enabled):
            if config.name in platforms:
                config = _point(config, sim.url(config.name))
            elif isinstance(config, OutboxConfig):
                config = config.model_copy(update={"folder": str(drill_dir / "outbox")})
            pointed.append(config.model_copy(update={"backfill": True}))
        with drill_credentials(pointed):
            report = Fanout(
                hub, pointed, drill_dir / "ledger.sqlite", progress=progress, policy=policy
            ).run()
        received = {name: platform.describe() for name, platform in platforms.items()}
    for config in pointed:
        if isinstance(config, OutboxConfig):
            received[config.name] = sorted(p.name for p in Path(config.folder).glob("*.json"))
    return DrillResult(report, received, pointed)
