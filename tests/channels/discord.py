"""The ``discord`` channel pointed at the loopback Discord webhook simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import DiscordConfig
from hub.simulator.discord import WEBHOOK_ID


def make(url: str, tmp: Path) -> tuple[DiscordConfig, dict[str, str]]:
    config = DiscordConfig(
        name="discord",
        webhook_url="${DISCORD_WEBHOOK_URL}",
        timeout=1.0,
    )
    webhook = f"{url}/api/webhooks/{WEBHOOK_ID}/fake-webhook-token_4f9a2c"
    return config, {"DISCORD_WEBHOOK_URL": webhook}
