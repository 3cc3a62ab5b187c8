"""``stormhub drill``: rehearse the whole fan-out against the loopback simulator.

Every channel in ``channels.yaml`` (switched off or not) is pointed at its own
simulated platform, given drill credentials in place of whatever its environment
holds, and sent every update through the real adapters and SDKs. The drill keeps
its own ledger and outbox under ``.stormhub/drill/``, so it never touches what the
real fan-out recorded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.config import ENV_REF, ChannelConfig, OutboxConfig
from hub.fanout import Fanout, Outcome, Report, RetryPolicy
from hub.model import Hub
from hub.simulator import PlatformSim, Simulator, platform_for

DRILL_DIR = Path(".stormhub/drill")


@contextmanager
def drill_credentials(configs: list[tuple[ChannelConfig, str]]) -> Iterator[None]:
    """Give every credential variable a drill value, then restore the environment.

    Real credentials are replaced too, so a drill never sends one anywhere. Each
    config comes with the URL of its simulated platform (a webhook's secret is a URL).
    """
    saved: dict[str, str | None] = {}
    for config, url in configs:
        for field in config.secret_fields:
            value = getattr(config, field)
            match = ENV_REF.match(value) if isinstance(value, str) else None
            if match is None:
                continue
            name = match.group(1)
            saved.setdefault(name, os.environ.get(name))
            os.environ[name] = config.drill_secret(field, url)
    try:
        yield
    finally:
        for name, before in saved.items():
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before


@dataclass
class Rehearsal:
    """Channels aimed at their simulated platforms, with drill credentials set."""

    configs: list[ChannelConfig]  # pointed at the simulator, enabled, with backfill
    platforms: dict[str, PlatformSim]  # channel name -> its simulated platform


def simulated_platforms(
    configs: list[ChannelConfig], *, everything: bool = True
) -> dict[str, PlatformSim]:
    """One fresh simulated platform per channel (by name) that has one; the outbox has none.

    Channels switched off are included unless *everything* is False.
    """
    platforms: dict[str, PlatformSim] = {}
    for config in configs:
        if not (everything or config.enabled):
            continue
        platform = platform_for(config.type)
        if platform is not None:
            limit = getattr(config, "max_characters", None)
            if limit is not None and hasattr(platform, "max_characters"):
                platform.max_characters = limit  # the instance limit the channel is set to
            platforms[config.name] = platform  # one simulated platform per channel
    return platforms


@contextmanager
def aimed(
    configs: list[ChannelConfig], urls: dict[str, str], scratch: Path, *, everything: bool = True
) -> Iterator[list[ChannelConfig]]:
    """The channels aimed at their simulated platforms' *urls*, drill credentials set.

    Outboxes write under *scratch*; every channel is switched on, with backfill. The
    environment is restored when the block ends.
    """
    pointed: list[tuple[ChannelConfig, str]] = []
    for config in configs:
        if not (everything or config.enabled):
            continue
        url = urls.get(config.name, "")
        if url:
            config = config.at(url)
        elif isinstance(config, OutboxConfig):
            config = config.but(folder=str(scratch / "outbox"))
        pointed.append((config.but(backfill=True, enabled=True), url))
    with drill_credentials(pointed):
        yield [c for c, _ in pointed]


@contextmanager
def rehearsal(
    configs: list[ChannelConfig], scratch: Path, *, everything: bool = True
) -> Iterator[Rehearsal]:
    """Start one simulated platform per channel and aim the channels at them.

    Outbox channels write under *scratch*. Channels switched off are included unless
    *everything* is False. The simulator stops and the environment is restored on exit.
    """
    platforms = simulated_platforms(configs, everything=everything)
    with Simulator(platforms) as sim:
        urls = {name: sim.url(name) for name in platforms}
        with aimed(configs, urls, scratch, everything=everything) as pointed:
            yield Rehearsal(pointed, platforms)


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
    everything: bool = True,
) -> DrillResult:
    """Run the fan-out for every channel against a fresh simulator.

    Channels switched off in ``channels.yaml`` are rehearsed too (a drill is how a
    team tries one before turning it on), unless *everything* is False.
    """
    drill_dir = root / DRILL_DIR
    shutil.rmtree(drill_dir, ignore_errors=True)
    drill_dir.mkdir(parents=True)
    with rehearsal(configs, drill_dir, everything=everything) as rig:
        report = Fanout(
            hub,
            rig.configs,
            drill_dir / "ledger.sqlite",
            progress=progress,
            policy=policy,
            rehearsal=True,
        ).run()
        received = {name: platform.describe() for name, platform in rig.platforms.items()}
    for config in rig.configs:
        if isinstance(config, OutboxConfig):
            received[config.name] = sorted(p.name for p in Path(config.folder).glob("*.json"))
    return DrillResult(report, received, rig.configs)
