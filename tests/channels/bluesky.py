"""The bluesky channel pointed at the simulated PDS."""

from __future__ import annotations

from pathlib import Path

from pydantic import HttpUrl

from hub.config import BlueskyConfig


def make(url: str, tmp: Path) -> tuple[BlueskyConfig, dict[str, str]]:
    config = BlueskyConfig(
        name="bluesky",
        service=HttpUrl(url),
        handle="hub.test",
        app_password="${BLUESKY_APP_PASSWORD}",
        timeout=1.0,
    )
    return config, {"BLUESKY_APP_PASSWORD": "fake-app-password"}
