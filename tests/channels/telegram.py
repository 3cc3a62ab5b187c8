"""The ``telegram`` channel pointed at the loopback Bot API simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import TelegramConfig

TOKEN = "7000000001:AAFakeTokenForTheSimulator-01234567"


def make(url: str, tmp: Path) -> tuple[TelegramConfig, dict[str, str]]:
    config = TelegramConfig(
        name="telegram",
        bot_token="${TELEGRAM_BOT_TOKEN}",
        chat_id="@stormhub_sim",
        api_base_url=url,  # type: ignore[arg-type]
        timeout=1.0,
    )
    return config, {"TELEGRAM_BOT_TOKEN": TOKEN}
