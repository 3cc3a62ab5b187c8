"""Loopback simulator of the platforms' APIs, for ``stormhub drill`` and the tests."""

from __future__ import annotations

import importlib

from hub.simulator.core import Fault, PlatformSim, Received, Simulator, status

# channel type -> "module:Class" of its simulated platform
PLATFORMS: dict[str, str] = {
    "x": "hub.simulator.x:XSim",
    "mastodon": "hub.simulator.mastodon:MastodonSim",
    "bluesky": "hub.simulator.bluesky:BlueskySim",
    "email": "hub.simulator.email:SmtpSim",
    "wordpress": "hub.simulator.wordpress:WordPressSim",
    "sms": "hub.simulator.twilio:TwilioSim",
    "facebook": "hub.simulator.facebook:FacebookSim",
    "instagram": "hub.simulator.instagram:InstagramSim",
    "threads": "hub.simulator.threads:ThreadsSim",
    "linkedin": "hub.simulator.linkedin:LinkedInSim",
    "gbp": "hub.simulator.gbp:GbpSim",
    "teams": "hub.simulator.teams:TeamsSim",
    "slack": "hub.simulator.slack:SlackSim",
    "discord": "hub.simulator.discord:DiscordSim",
    "telegram": "hub.simulator.telegram:TelegramSim",
}


def platform_for(channel_type: str) -> PlatformSim | None:
    """A fresh simulated platform for *channel_type*, or None if it needs none."""
    target = PLATFORMS.get(channel_type)
    if target is None:
        return None
    module, _, cls = target.partition(":")
    platform: PlatformSim = getattr(importlib.import_module(module), cls)()
    return platform


__all__ = ["PLATFORMS", "Fault", "PlatformSim", "Received", "Simulator", "platform_for", "status"]
