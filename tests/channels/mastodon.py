"""The ``mastodon`` channel pointed at the loopback Mastodon simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import MastodonConfig


def make(url: str, tmp: Path) -> tuple[MastodonConfig, dict[str, str]]:
    config = MastodonConfig(
        name="mastodon",
        api_base_url=url,  # type: ignore[arg-type]
        access_token="${MASTODON_ACCESS_TOKEN}",
        timeout=1.0,
    )
    return config, {"MASTODON_ACCESS_TOKEN": "fake-token"}
