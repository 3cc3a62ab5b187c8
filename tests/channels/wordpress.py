"""The ``wordpress`` channel pointed at the loopback WordPress simulator."""

from __future__ import annotations

from pathlib import Path

from hub.config import WordPressConfig


def make(url: str, tmp: Path) -> tuple[WordPressConfig, dict[str, str]]:
    config = WordPressConfig(
        name="newsroom",
        url=url,  # type: ignore[arg-type]
        username="stormhub",
        app_password="${WORDPRESS_APP_PASSWORD}",
        timeout=1.0,
    )
    return config, {"WORDPRESS_APP_PASSWORD": "abcd EFGH ijkl MNOP qrst UVWX"}
