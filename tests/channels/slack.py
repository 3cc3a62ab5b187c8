"""The ``slack`` channel (bot-token mode) pointed at the loopback Slack simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import SlackConfig


def make(url: str, tmp: Path) -> tuple[SlackConfig, dict[str, str]]:
    config = SlackConfig(
        name="slack",
        bot_token="${SLACK_BOT_TOKEN}",
        channel="C0123456789",
        timeout=1.0,
    ).at(url)
    return config, {"SLACK_BOT_TOKEN": "xoxb-1111111111-2222222222222-fakefakefakefake"}


def make_webhook(url: str, tmp: Path) -> tuple[SlackConfig, dict[str, str]]:
    """Incoming-webhook mode: the webhook URL (on the simulator) is the secret."""
    config = SlackConfig(name="slack-hook", webhook_url="${SLACK_WEBHOOK_URL}", timeout=1.0)
    return config, {"SLACK_WEBHOOK_URL": f"{url}/services/T0SIMTEAM1/B0SIMHOOK1/s3cretWebhookPart"}
