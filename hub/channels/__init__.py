"""Channel adapters, one module per platform, looked up by their ``type:``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.channels.base import Channel
    from hub.config import ChannelConfig
    from hub.model import Hub

# type -> "module:Class"; modules import their SDKs only when a channel is built.
ADAPTERS = {
    "outbox": "hub.channels.outbox:OutboxChannel",
    "x": "hub.channels.x:XChannel",
    "mastodon": "hub.channels.mastodon:MastodonChannel",
    "bluesky": "hub.channels.bluesky:BlueskyChannel",
    "email": "hub.channels.email:EmailChannel",
    "wordpress": "hub.channels.wordpress:WordPressChannel",
    "sms": "hub.channels.sms:SmsChannel",
    "facebook": "hub.channels.facebook:FacebookChannel",
    "instagram": "hub.channels.instagram:InstagramChannel",
    "threads": "hub.channels.threads:ThreadsChannel",
    "linkedin": "hub.channels.linkedin:LinkedInChannel",
    "gbp": "hub.channels.gbp:GbpChannel",
    "teams": "hub.channels.teams:TeamsChannel",
    "slack": "hub.channels.slack:SlackChannel",
    "discord": "hub.channels.discord:DiscordChannel",
    "telegram": "hub.channels.telegram:TelegramChannel",
}


def make_channel(config: ChannelConfig, hub: Hub) -> Channel[Any]:
    """The adapter for *config*'s type."""
    module, _, cls = ADAPTERS[config.type].partition(":")
    adapter: type[Channel[Any]] = getattr(importlib.import_module(module), cls)
    return adapter(config, hub)
